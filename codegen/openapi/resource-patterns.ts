// Names for the path parameters of an expanded variable, taken from AIP resource patterns
// (google/api/resource.proto): `{name=shelves/*/books/*}` on a field that refers to a Book whose
// pattern is `shelves/{shelf}/books/{book}` gives the parameters `shelf` and `book`.
import protobuf from 'protobufjs';
import { fieldByName } from '../../src/transcode/json/field-info.js';
import type { Segment } from '../../src/routing/path-template.js';
import { lowerCamel } from './paths.js';

/** The resource patterns of every message in a root, by resource type. */
export type ResourcePatterns = ReadonlyMap<string, readonly string[]>;

/** Collects `(google.api.resource)` patterns from every message under the root. */
export function collectResourcePatterns(root: protobuf.Root): ResourcePatterns {
  const out = new Map<string, string[]>();
  const visit = (namespace: protobuf.NamespaceBase): void => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type) {
        const resource = resourceOf(nested);
        if (resource !== undefined) out.set(resource.type, [...(out.get(resource.type) ?? []), ...resource.patterns]);
      }
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) visit(nested);
    }
  };
  visit(root);
  return out;
}

/**
 * The resource patterns a field's value follows: those of the type its
 * `(google.api.resource_reference).type` names, or, for the `name` field of a resource message
 * itself, that message's own patterns.
 */
export function patternsOfField(field: protobuf.Field, patterns: ResourcePatterns): readonly string[] {
  const options = (field.options ?? {}) as Record<string, unknown>;
  const referenced = options['(google.api.resource_reference).type'];
  if (typeof referenced === 'string') return patterns.get(referenced) ?? [];
  const parent = field.parent;
  if (field.name === 'name' && parent instanceof protobuf.Type) return resourceOf(parent)?.patterns ?? [];
  return [];
}

/**
 * One name per `*` segment of a variable, from the first pattern whose segments line up with the
 * variable's (`shelves/{shelf}` with `shelves/*`); undefined when none does.
 */
export function namesFromPatterns(segments: readonly Segment[], patterns: readonly string[]): string[] | undefined {
  for (const pattern of patterns) {
    const parts = pattern.split('/');
    if (parts.length !== segments.length) continue;
    const names: string[] = [];
    const fits = segments.every((segment, i) => {
      const part = parts[i]!;
      const variable = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(part);
      if (segment.kind === 'literal') return part === segment.value;
      if (segment.kind === 'deep' || variable === null) return false;
      names.push(lowerCamel(variable[1]!));
      return true;
    });
    if (fits) return names;
  }
  return undefined;
}

/** The field at a dotted path of proto names under a message, if every step exists. */
export function fieldAt(type: protobuf.Type, fieldPath: readonly string[]): protobuf.Field | undefined {
  let current: protobuf.Type | undefined = type;
  let field: protobuf.Field | undefined;
  for (const name of fieldPath) {
    field = current === undefined ? undefined : fieldByName(current, name);
    if (field === undefined) return undefined;
    field.resolve();
    current = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
  }
  return field;
}

function resourceOf(type: protobuf.Type): { type: string; patterns: string[] } | undefined {
  let resourceType: string | undefined;
  const patterns: string[] = [];
  const add = (value: unknown): void => {
    if (typeof value === 'string') patterns.push(value);
    else if (Array.isArray(value)) for (const item of value) add(item);
  };
  // protobufjs keeps the structured option in parsedOptions; repeated `pattern` may appear once
  // per occurrence or as an array.
  for (const entry of (type.parsedOptions ?? []) as Array<Record<string, unknown>>) {
    const resource = entry['(google.api.resource)'] as Record<string, unknown> | undefined;
    if (resource === undefined) continue;
    if (typeof resource['type'] === 'string') resourceType = resource['type'];
    add(resource['pattern']);
  }
  const flat = (type.options ?? {}) as Record<string, unknown>;
  if (resourceType === undefined && typeof flat['(google.api.resource).type'] === 'string') {
    resourceType = flat['(google.api.resource).type'];
  }
  if (patterns.length === 0) add(flat['(google.api.resource).pattern']);
  return resourceType === undefined ? undefined : { type: resourceType, patterns: [...new Set(patterns)] };
}
