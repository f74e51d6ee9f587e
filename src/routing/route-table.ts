// The route table: templates compiled into a segment trie when routes are added, so matching a
// request walks the trie (literal > `*` > `**`, with backtracking) instead of scanning routes.
// Registration order never matters.
import type { PathTemplate } from './path-template.js';
import { templateShapeKey } from './path-template.js';
import { decodeKeepingSlashes } from './percent-decoding.js';
import type { RequestPath } from './request-path.js';
import { splitRequestPath } from './request-path.js';

/** A route was found for the method and path. */
export interface RouteMatch<T> {
  kind: 'found';
  route: T;
  /** One per template variable, in template order. */
  bindings: ReadonlyArray<readonly [fieldPath: readonly string[], value: string]>;
}

/** The outcome of `RouteTable.match`. */
export type MatchResult<T> =
  | RouteMatch<T>
  | { kind: 'method-not-allowed'; allow: readonly string[] }
  | { kind: 'not-found' }
  | { kind: 'bad-path'; message: string };

/** A registered route with everything `match` needs decided up front. */
interface CompiledRoute<T> {
  readonly route: T;
  readonly template: PathTemplate;
  readonly segmentCount: number;
  /** Template index of the `**` segment, or -1. */
  readonly deepIndex: number;
  readonly variables: readonly CompiledVariable[];
}

interface CompiledVariable {
  readonly fieldPath: readonly string[];
  readonly start: number;
  readonly end: number;
  readonly multiSegment: boolean;
}

interface TrieNode<T> {
  literals: Map<string, TrieNode<T>> | undefined;
  wildcard: TrieNode<T> | undefined;
  /** The node after a `**` edge. */
  deep: TrieNode<T> | undefined;
  /**
   * On a node reached through `**`: the distinct numbers of (literal) segments between it and a
   * route end, longest first, so `**` is tried taking the fewest segments first.
   */
  tailLengths: number[];
  /** verb ('' for none) → HTTP method → route. */
  ends: Map<string, Map<string, CompiledRoute<T>>> | undefined;
}

const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NOT_FOUND = Object.freeze({ kind: 'not-found' as const });

function newNode<T>(): TrieNode<T> {
  return { literals: undefined, wildcard: undefined, deep: undefined, tailLengths: [], ends: undefined };
}

/** HttpRule routes keyed by HTTP method and path template. */
export class RouteTable<T> {
  private readonly root: TrieNode<T> = newNode();
  private readonly verbs = new Set<string>();

  /**
   * Registers `route`. Throws a plain Error if the same HTTP method and template shape (see
   * `templateShapeKey`) is already registered, or if `httpMethod` is not an HTTP token.
   * Methods are case-sensitive (RFC 9110 §9.1): register them as clients send them ("GET").
   */
  add(httpMethod: string, template: PathTemplate, route: T): void {
    if (!HTTP_TOKEN.test(httpMethod)) {
      throw new Error(`"${httpMethod}" is not a valid HTTP method name`);
    }
    const segments = template.segments;
    const deepIndex = segments.findIndex((s) => s.kind === 'deep');
    let node = this.root;
    let deepNode: TrieNode<T> | undefined;
    for (const [i, segment] of segments.entries()) {
      if (segment.kind === 'literal') {
        node.literals ??= new Map();
        let next = node.literals.get(segment.value);
        if (next === undefined) node.literals.set(segment.value, (next = newNode()));
        node = next;
      } else if (segment.kind === 'wildcard') {
        node = node.wildcard ??= newNode();
      } else {
        node = node.deep ??= newNode();
        if (i === deepIndex) deepNode = node;
      }
    }
    const verb = template.verb ?? '';
    node.ends ??= new Map();
    let byMethod = node.ends.get(verb);
    if (byMethod === undefined) node.ends.set(verb, (byMethod = new Map()));
    const existing = byMethod.get(httpMethod);
    if (existing !== undefined) {
      throw new Error(
        `${httpMethod} "${template.source}" duplicates ${httpMethod} "${existing.template.source}": ` +
          `both match the same paths (${templateShapeKey(template)}); remove one or change its template`,
      );
    }
    byMethod.set(httpMethod, {
      route,
      template,
      segmentCount: segments.length,
      deepIndex,
      variables: template.variables.map((v) => ({
        fieldPath: v.fieldPath,
        start: v.startSegment,
        end: v.endSegment,
        multiSegment: v.multiSegment,
      })),
    });
    if (deepNode !== undefined) {
      const tail = segments.length - deepIndex - 1;
      if (!deepNode.tailLengths.includes(tail)) {
        deepNode.tailLengths.push(tail);
        deepNode.tailLengths.sort((a, b) => b - a);
      }
    }
    if (verb !== '') this.verbs.add(verb);
  }

  /** Matches `path`: the raw request path WITHOUT the query string, still percent-encoded. */
  match(httpMethod: string, path: string): MatchResult<T> {
    const request = splitRequestPath(path, this.verbs);
    if (!('raw' in request)) return request.kind === 'not-found' ? NOT_FOUND : request;
    const found = findRoute(this.root, request, 0, httpMethod);
    if (found !== undefined) return bindRoute(found, request);
    const allow = new Set<string>();
    collectMethods(this.root, request, 0, allow);
    if (allow.size === 0) return NOT_FOUND;
    return { kind: 'method-not-allowed', allow: [...allow].sort() };
  }

  /** The methods registered for `path` (raw, without the query), sorted; empty when none or malformed. */
  methods(path: string): string[] {
    const request = splitRequestPath(path, this.verbs);
    if (!('raw' in request)) return [];
    const allow = new Set<string>();
    collectMethods(this.root, request, 0, allow);
    return [...allow].sort();
  }
}

/** Depth-first, most specific branch first; returns the first route for `method`. */
function findRoute<T>(node: TrieNode<T>, req: RequestPath, i: number, method: string): CompiledRoute<T> | undefined {
  const n = req.decoded.length;
  if (i === n) {
    const route = node.ends?.get(req.verb)?.get(method);
    if (route !== undefined) return route;
  } else {
    const literal = node.literals?.get(req.decoded[i]!);
    if (literal !== undefined) {
      const route = findRoute(literal, req, i + 1, method);
      if (route !== undefined) return route;
    }
    if (node.wildcard !== undefined) {
      const route = findRoute(node.wildcard, req, i + 1, method);
      if (route !== undefined) return route;
    }
  }
  const deep = node.deep;
  if (deep !== undefined) {
    // Only literals follow `**`, so each tail length fixes how many segments `**` takes.
    for (const tail of deep.tailLengths) {
      if (tail > n - i) continue;
      const route = findRoute(deep, req, n - tail, method);
      if (route !== undefined) return route;
    }
  }
  return undefined;
}

/** Visits every branch matching the path and collects the methods registered at its ends. */
function collectMethods<T>(node: TrieNode<T>, req: RequestPath, i: number, allow: Set<string>): void {
  const n = req.decoded.length;
  if (i === n) {
    const byMethod = node.ends?.get(req.verb);
    if (byMethod !== undefined) for (const method of byMethod.keys()) allow.add(method);
  } else {
    const literal = node.literals?.get(req.decoded[i]!);
    if (literal !== undefined) collectMethods(literal, req, i + 1, allow);
    if (node.wildcard !== undefined) collectMethods(node.wildcard, req, i + 1, allow);
  }
  const deep = node.deep;
  if (deep !== undefined) {
    for (const tail of deep.tailLengths) {
      if (tail <= n - i) collectMethods(deep, req, n - tail, allow);
    }
  }
}

/** Extracts variable values; the request's segment count fixes how many segments `**` took. */
function bindRoute<T>(compiled: CompiledRoute<T>, req: RequestPath): MatchResult<T> {
  const { deepIndex, variables } = compiled;
  const deepTakes = req.decoded.length - compiled.segmentCount + 1;
  const bindings = new Array<readonly [readonly string[], string]>(variables.length);
  for (let v = 0; v < variables.length; v++) {
    const variable = variables[v]!;
    const start = toRequestIndex(variable.start, deepIndex, deepTakes);
    const end = toRequestIndex(variable.end, deepIndex, deepTakes);
    let value: string;
    if (!variable.multiSegment) {
      // http.proto: a single-segment variable is fully percent-decoded, "%2F" included.
      value = req.decoded[start]!;
    } else {
      value = '';
      for (let s = start; s < end; s++) {
        // Cannot fail: every segment already decoded fully in splitRequestPath.
        const part = decodeKeepingSlashes(req.raw[s]!, req.decoded[s]!) ?? req.decoded[s]!;
        value = s === start ? part : `${value}/${part}`;
      }
    }
    bindings[v] = [variable.fieldPath, value];
  }
  return { kind: 'found', route: compiled.route, bindings };
}

/** Maps a template segment boundary to a request segment boundary. */
function toRequestIndex(templateIndex: number, deepIndex: number, deepTakes: number): number {
  return deepIndex < 0 || templateIndex <= deepIndex ? templateIndex : templateIndex + deepTakes - 1;
}
