// HttpRule templates as OpenAPI paths. A variable `{book.name=shelves/*/books/*}` becomes one
// path parameter named by its field path (`/v1/{book.name}`), its pattern documented.
//
// Collisions: OpenAPI treats paths that differ only in parameter names as the same path, and
// allows one operation per path and method. HttpRule templates that differ only inside a
// variable (`GET /v1/{name=shelves/*}` and `GET /v1/{name=shelves/*/books/*}`) would map to one
// OpenAPI operation. For every route in such a clash we *expand* the variables: their literal
// segments move into the path and each wildcard becomes its own parameter named after the
// literal before it (`/v1/shelves/{shelvesId}/books/{booksId}`); `x-protogate-field` on the
// parameter and `x-protogate-template` on the operation say how the field value is rebuilt.
// Routes that still clash after expansion are left out of `paths` and listed under
// `x-protogate-unlisted-routes`.
import type { RouteSpec } from '../../src/gateway-model.js';
import { parsePathTemplate, type PathTemplate, type Segment } from '../../src/routing/path-template.js';

/** One path parameter of an OpenAPI path. */
export interface PathParameter {
  readonly name: string;
  /** The request field it binds (proto names), or undefined for a wildcard outside variables. */
  readonly fieldPath: readonly string[] | undefined;
  /** The whole variable's template (`shelves/*`), for documentation. */
  readonly variableTemplate: string;
  /** Regular expression the parameter value matches. */
  readonly pattern: string;
  /** The value may contain `/` (`**`, or a whole multi-segment variable). */
  readonly multiSegment: boolean;
  /** Expanded form: this parameter is one segment of a variable, not the whole field value. */
  readonly partial: boolean;
}

export interface OpenApiPath {
  readonly key: string;
  readonly parameters: readonly PathParameter[];
}

/** Why a route has no operation in the document. */
export interface UnlistedRoute {
  readonly route: RouteSpec;
  readonly reason: string;
}

export interface PathPlan {
  readonly paths: ReadonlyMap<RouteSpec, OpenApiPath>;
  readonly unlisted: readonly UnlistedRoute[];
}

/** HTTP methods an OpenAPI path item can hold. */
export const OPENAPI_METHODS: ReadonlySet<string> = new Set(['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'TRACE']);

/** Picks an OpenAPI path for every route, expanding variables where compact paths clash. */
export function planPaths(routes: readonly RouteSpec[]): PathPlan {
  const unlisted: UnlistedRoute[] = [];
  const templates = new Map<RouteSpec, PathTemplate>();
  for (const route of routes) {
    if (!OPENAPI_METHODS.has(route.httpMethod)) {
      unlisted.push({ route, reason: `OpenAPI has no operation for HTTP method ${route.httpMethod}` });
      continue;
    }
    const parsed = parsePathTemplate(route.template);
    if (!parsed.ok) throw new Error(`${route.operationId}: bad template ${route.template}: ${parsed.message}`);
    templates.set(route, parsed.template);
  }
  const compact = new Map([...templates].map(([route, t]) => [route, toOpenApiPath(t, false)]));
  const chosen = new Map(compact);
  for (const route of clashing(compact)) chosen.set(route, toOpenApiPath(templates.get(route)!, true));
  const stillClashing = new Set(clashing(chosen, true));
  for (const route of stillClashing) {
    chosen.delete(route);
    unlisted.push({ route, reason: `its OpenAPI path ${compact.get(route)!.key} clashes with another route` });
  }
  unlisted.sort((a, b) => routes.indexOf(a.route) - routes.indexOf(b.route));
  return { paths: chosen, unlisted };
}

/**
 * Routes whose path clashes with another's: same shape (paths equal up to parameter names) and
 * either the same method or different parameter names. With `laterOnly`, the first route of each
 * shape is kept and only those that clash with what is kept are returned.
 */
function clashing(paths: ReadonlyMap<RouteSpec, OpenApiPath>, laterOnly = false): RouteSpec[] {
  const byShape = new Map<string, RouteSpec[]>();
  for (const [route, p] of paths) {
    const shape = p.key.replace(/\{[^}]*\}/g, '{}');
    byShape.set(shape, [...(byShape.get(shape) ?? []), route]);
  }
  const out: RouteSpec[] = [];
  for (const group of byShape.values()) {
    const kept: RouteSpec[] = [];
    const clashes = (a: RouteSpec, b: RouteSpec): boolean =>
      a.httpMethod === b.httpMethod || paths.get(a)!.key !== paths.get(b)!.key;
    if (!laterOnly) {
      if (group.some((a, i) => group.some((b, j) => i !== j && clashes(a, b)))) out.push(...group);
      continue;
    }
    for (const route of group) {
      if (kept.some((other) => clashes(route, other))) out.push(route);
      else kept.push(route);
    }
  }
  return out;
}

/** The OpenAPI path of a template, compact (`{name}`) or expanded (`shelves/{shelvesId}`). */
export function toOpenApiPath(template: PathTemplate, expand: boolean): OpenApiPath {
  const parts: string[] = [];
  const parameters: PathParameter[] = [];
  const used = new Set<string>();
  const unique = (base: string): string => {
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}${n}`;
    used.add(name);
    return name;
  };
  const variableAt = new Map(template.variables.map((v) => [v.startSegment, v]));
  let wildcards = 0;
  for (let i = 0; i < template.segments.length; ) {
    const variable = variableAt.get(i);
    if (variable === undefined) {
      const segment = template.segments[i]!;
      if (segment.kind === 'literal') {
        parts.push(segment.value);
      } else {
        // A wildcard outside any variable: matched, but bound to no field.
        const name = unique(`wildcard${++wildcards}`);
        parts.push(`{${name}}`);
        parameters.push(segmentParameter(name, undefined, segmentText([segment]), segment));
      }
      i++;
      continue;
    }
    const covered = template.segments.slice(variable.startSegment, variable.endSegment);
    const variableTemplate = segmentText(covered);
    if (!expand || covered.length === 1) {
      const name = unique(variable.fieldPath.join('.'));
      parts.push(`{${name}}`);
      parameters.push({
        name,
        fieldPath: variable.fieldPath,
        variableTemplate,
        pattern: `^${segmentsPattern(covered)}$`,
        multiSegment: variable.multiSegment,
        partial: false,
      });
    } else {
      let previous: string | undefined;
      for (const segment of covered) {
        if (segment.kind === 'literal') {
          parts.push(segment.value);
          previous = segment.value;
          continue;
        }
        const name = unique(previous === undefined ? `segment${i + 1}` : `${previous}Id`);
        parts.push(`{${name}}`);
        parameters.push({ ...segmentParameter(name, variable.fieldPath, variableTemplate, segment), partial: covered.length > 1 });
      }
    }
    i = variable.endSegment;
  }
  const key = `/${parts.join('/')}${template.verb === undefined ? '' : `:${template.verb}`}`;
  return { key, parameters };
}

function segmentParameter(
  name: string,
  fieldPath: readonly string[] | undefined,
  variableTemplate: string,
  segment: Segment,
): PathParameter {
  return {
    name,
    fieldPath,
    variableTemplate,
    pattern: `^${segmentsPattern([segment])}$`,
    multiSegment: segment.kind === 'deep',
    partial: false,
  };
}

function segmentText(segments: readonly Segment[]): string {
  return segments.map((s) => (s.kind === 'literal' ? s.value : s.kind === 'wildcard' ? '*' : '**')).join('/');
}

/** A regular expression for the text that the segments match (`**` may match nothing). */
function segmentsPattern(segments: readonly Segment[]): string {
  let out = '';
  segments.forEach((segment, i) => {
    const slash = i === 0 ? '' : '/';
    if (segment.kind === 'literal') out += slash + segment.value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (segment.kind === 'wildcard') out += `${slash}[^/]+`;
    else out += i === 0 ? '.*' : '(?:/.*)?';
  });
  return out;
}
