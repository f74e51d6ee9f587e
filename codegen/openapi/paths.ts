// HttpRule templates as OpenAPI paths, in one readable style. A variable whose pattern has
// literal segments is expanded: the literals move into the path and each `*` becomes its own
// parameter, named from the resource (`{name=shelves/*/books/*}` → `/v1/shelves/{shelf}/books/{book}`,
// the names from the `google.api.resource` pattern the field refers to, else the singular of the
// literal before it). `x-protogate-field` on each parameter and `x-protogate-template` on the
// operation say how the gateway rebuilds the field value. A variable with no literal segments
// (`{id}`, `{name=*}`) stays one parameter named by its field path, and a `**` segment stays one
// parameter whose value may contain `/`.
//
// OpenAPI treats paths that differ only in parameter names as the same path, with one operation
// per method. Routes that still clash are left out of `paths` and listed under
// `x-protogate-unlisted-routes`.
import type { RouteSpec } from '../../src/gateway-model.js';
import { parsePathTemplate, type PathTemplate, type Segment, type TemplateVariable } from '../../src/routing/path-template.js';

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
  /** Expanded form: how the field value is rebuilt from the parameters (`shelves/{shelf}`). */
  readonly fieldTemplate?: string;
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

/**
 * Names for the `*` segments of a variable (one per `*`, in order), e.g. from the resource the
 * field refers to; undefined to fall back to the literals' singular forms.
 */
export type ResourceNames = (variable: TemplateVariable, segments: readonly Segment[]) => readonly string[] | undefined;

/** Picks an OpenAPI path for every route; the first of several clashing routes keeps its path. */
export function planPaths(routes: readonly RouteSpec[], resourceNames: (route: RouteSpec) => ResourceNames = () => () => undefined): PathPlan {
  const unlisted: UnlistedRoute[] = [];
  const chosen = new Map<RouteSpec, OpenApiPath>();
  for (const route of routes) {
    if (!OPENAPI_METHODS.has(route.httpMethod)) {
      unlisted.push({ route, reason: `OpenAPI has no operation for HTTP method ${route.httpMethod}` });
      continue;
    }
    const parsed = parsePathTemplate(route.template);
    if (!parsed.ok) throw new Error(`${route.operationId}: bad template ${route.template}: ${parsed.message}`);
    chosen.set(route, toOpenApiPath(parsed.template, resourceNames(route)));
  }
  for (const route of clashing(chosen)) {
    unlisted.push({ route, reason: `its OpenAPI path ${chosen.get(route)!.key} clashes with another route` });
    chosen.delete(route);
  }
  unlisted.sort((a, b) => routes.indexOf(a.route) - routes.indexOf(b.route));
  return { paths: chosen, unlisted };
}

/**
 * Routes whose path clashes with an earlier route's: same shape (paths equal up to parameter
 * names) and either the same method or different parameter names.
 */
function clashing(paths: ReadonlyMap<RouteSpec, OpenApiPath>): RouteSpec[] {
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
    for (const route of group) {
      if (kept.some((other) => clashes(route, other))) out.push(route);
      else kept.push(route);
    }
  }
  return out;
}

/**
 * The OpenAPI path of a template: variables with literal segments expanded
 * (`{name=shelves/*}` → `shelves/{shelf}`), the others one parameter named by the field path.
 */
export function toOpenApiPath(template: PathTemplate, resourceNames: ResourceNames = () => undefined): OpenApiPath {
  const parts: string[] = [];
  const parameters: PathParameter[] = [];
  const used = new Set<string>();
  const unique = (base: string): string => {
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}${n}`;
    used.add(name);
    return name;
  };
  const coveredBy = (variable: TemplateVariable): readonly Segment[] => template.segments.slice(variable.startSegment, variable.endSegment);
  const expands = (variable: TemplateVariable): boolean => coveredBy(variable).some((s) => s.kind === 'literal');
  // Field-path names are taken first, so a resource-derived name never renames a field's parameter.
  for (const variable of template.variables) if (!expands(variable)) used.add(variable.fieldPath.join('.'));
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
        parameters.push(segmentParameter(name, undefined, segmentText([segment]), segment, false));
      }
      i++;
      continue;
    }
    const covered = coveredBy(variable);
    const variableTemplate = segmentText(covered);
    if (!expands(variable)) {
      const name = variable.fieldPath.join('.');
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
      const fromResource = resourceNames(variable, covered);
      let previous: string | undefined;
      let stars = 0;
      const pieces: string[] = [];
      const expanded: PathParameter[] = [];
      for (const segment of covered) {
        if (segment.kind === 'literal') {
          parts.push(segment.value);
          pieces.push(segment.value);
          previous = segment.value;
          continue;
        }
        const base =
          segment.kind === 'wildcard'
            ? (fromResource?.[stars++] ?? (previous === undefined ? lastPart(variable) : singular(previous)))
            : `${previous === undefined ? lastPart(variable) : lowerCamel(previous)}Path`;
        const name = unique(base);
        parts.push(`{${name}}`);
        pieces.push(`{${name}}`);
        expanded.push(segmentParameter(name, variable.fieldPath, variableTemplate, segment, true));
      }
      const fieldTemplate = pieces.join('/');
      parameters.push(...expanded.map((p) => ({ ...p, fieldTemplate })));
    }
    i = variable.endSegment;
  }
  const key = `/${parts.join('/')}${template.verb === undefined ? '' : `:${template.verb}`}`;
  return { key, parameters };
}

/**
 * The parameter name for the value after a collection literal: `shelves` → `shelf`,
 * `entries` → `entry`, `books` → `book`, otherwise `<literal>Id` (`archive` → `archiveId`).
 */
export function singular(literal: string): string {
  const word = lowerCamel(literal);
  if (/[^aeiou]ies$/.test(word)) return `${word.slice(0, -3)}y`;
  if (/lves$/.test(word)) return `${word.slice(0, -3)}f`;
  if (/(?:ss|x|ch|sh)es$/.test(word)) return word.slice(0, -2);
  if (/[^su]s$/.test(word)) return word.slice(0, -1);
  return word === '' ? 'id' : `${word}Id`;
}

function lastPart(variable: TemplateVariable): string {
  return lowerCamel(variable.fieldPath.at(-1)!);
}

/** `shelf_id` / `user-groups` → `shelfId` / `userGroups`. */
export function lowerCamel(text: string): string {
  const words = text.split(/[^A-Za-z0-9]+/).filter((w) => w !== '');
  return words.map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() + w.slice(1) : w.charAt(0).toUpperCase() + w.slice(1))).join('');
}

function segmentParameter(
  name: string,
  fieldPath: readonly string[] | undefined,
  variableTemplate: string,
  segment: Segment,
  partial: boolean,
): PathParameter {
  return {
    name,
    fieldPath,
    variableTemplate,
    pattern: `^${segmentsPattern([segment])}$`,
    multiSegment: segment.kind === 'deep',
    partial,
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
