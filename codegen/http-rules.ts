// Build step, stage 2: collect the google.api.http rules of the served services, check them
// against http.proto's constraints, and emit one RouteSpec per binding.
import path from 'node:path';
import protobuf from 'protobufjs';
import { parseDurationMs } from '../src/config/duration.js';
import { AUTH_SCHEMES, RATE_LIMIT_KEYS, isRateLimitWindow, type RateLimitKey, type RouteAuthSpec, type RouteRateLimitSpec, type RouteSpec } from '../src/gateway-model.js';
import { fieldByName } from '../src/transcode/json/field-info.js';
import { parsePathTemplate, templateShapeKey, type PathTemplate } from '../src/routing/path-template.js';
import type { LoadedProtos } from './load-protos.js';
import { ProtoError, type ProtoSource, type SourceLocation } from './source-location.js';

const HTTP_OPTION = '.google.api.http';
const POLICY_OPTION = '.protogate.v1.policy';
const SERVICE_POLICY_OPTION = '.protogate.v1.service_policy';
const PATTERN_KEYS = ['get', 'put', 'post', 'delete', 'patch', 'custom'] as const;
const RULE_KEYS = new Set<string>([...PATTERN_KEYS, 'selector', 'body', 'response_body', 'additional_bindings']);

/** A rule as protobufjs parses an option aggregate. */
type RuleObject = Record<string, unknown>;

/** Every binding of every rpc with a google.api.http rule in the given files, checked. */
export function collectRoutes(protos: LoadedProtos): RouteSpec[] {
  const routes: RouteSpec[] = [];
  const seen = new Map<string, RouteSpec>();
  const operationIds = new Set<string>();
  for (const service of servicesOf(protos)) {
    const source = sourceOf(protos, service);
    const servicePolicy = optionValue(service, SERVICE_POLICY_OPTION) as RuleObject | undefined;
    const serviceOffset = Math.max(0, source.findDeclaration('service', service.name));
    for (const method of service.methodsArray) {
      const rule = optionValue(method, HTTP_OPTION);
      if (rule === undefined) continue;
      const site = new RuleSite(source, source.findDeclaration('rpc', method.name, serviceOffset), method);
      const policy = optionValue(method, POLICY_OPTION) as RuleObject | undefined;
      // the service's timeout is for its unary calls: a stream's is its own, else timeouts.stream
      const serviceTimeout = policyTimeout(site, servicePolicy);
      const streams = method.responseStream === true || method.requestStream === true;
      const timeoutMs = policyTimeout(site, policy) ?? (streams ? undefined : serviceTimeout);
      // the service's own site, so problems in its policy are located in the service declaration
      const auth = policyAuth(site, policy) ?? policyAuth(new RuleSite(source, serviceOffset, method), servicePolicy);
      const rateLimit = policyRateLimit(site, policy) ?? policyRateLimit(site, servicePolicy);
      const bindings = flattenBindings(site, rule as RuleObject);
      const baseId = uniqueOperationId(operationIds, service, method);
      bindings.forEach((binding, index) => {
        const spec = checkBinding(site, binding, index, {
          service,
          method,
          baseId,
          timeoutMs,
          idempotent: policy?.['idempotent'] === true,
          auth,
          rateLimit,
          root: protos.root,
        });
        const key = `${spec.httpMethod} ${templateShapeKey(parseTemplateOrThrow(site, spec.template))}`;
        const earlier = seen.get(key);
        if (earlier) {
          throw site.error(
            `"${spec.template}"`,
            `${spec.httpMethod} ${spec.template} is already bound by ${earlier.service}.${earlier.method} (${earlier.source.file}:${earlier.source.line})`,
            'give one of the rules a different path or HTTP method',
          );
        }
        seen.set(key, spec);
        routes.push(spec);
      });
    }
  }
  return routes;
}

function servicesOf(protos: LoadedProtos): protobuf.Service[] {
  const wanted = new Set(protos.files);
  const services: protobuf.Service[] = [];
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const object of ns.nestedArray) {
      if (object instanceof protobuf.Service && object.filename !== null && wanted.has(object.filename)) services.push(object);
      if (object instanceof protobuf.Namespace) visit(object);
    }
  };
  visit(protos.root);
  return services;
}

function sourceOf(protos: LoadedProtos, object: protobuf.ReflectionObject): ProtoSource {
  const source = object.filename === null ? undefined : protos.sources.get(object.filename);
  if (!source) throw new Error(`protogate: no source kept for ${object.fullName}`);
  return source;
}

/** The value of a custom option on a service or method, found by the extension's full name. */
function optionValue(object: protobuf.Service | protobuf.Method, fullName: string): unknown {
  for (const entry of object.parsedOptions ?? []) {
    for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
      const match = /^\((.+)\)$/.exec(key);
      if (!match) continue;
      const name = match[1]!;
      const found = name.startsWith('.') ? object.root.lookup(name) : (object.parent ?? object.root).lookup(name);
      if (found?.fullName === fullName) return value;
    }
  }
  return undefined;
}

/** Where in the source one rpc's rule is, for located errors. */
class RuleSite {
  constructor(
    readonly source: ProtoSource,
    readonly rpcOffset: number,
    readonly method: protobuf.Method,
  ) {}

  /** The location of `needle` inside this rpc's declaration (or the rpc itself), shifted by `extra` chars. */
  locate(needle: string | undefined, extra = 0): SourceLocation {
    const start = Math.max(0, this.rpcOffset);
    if (needle !== undefined) {
      const found = this.source.find(needle, start);
      if (found >= 0) return this.source.at(found + extra);
    }
    return this.source.at(start);
  }

  error(needle: string | undefined, problem: string, fix: string, extra = 0): ProtoError {
    return new ProtoError(this.locate(needle, extra), `rpc ${this.method.name}: ${problem}`, fix);
  }
}

/** The primary rule followed by its additional bindings; bindings may not nest. */
function flattenBindings(site: RuleSite, rule: RuleObject): RuleObject[] {
  const extra = rule['additional_bindings'];
  const additional = extra === undefined ? [] : Array.isArray(extra) ? (extra as RuleObject[]) : [extra as RuleObject];
  for (const binding of additional) {
    if (binding['additional_bindings'] !== undefined) {
      throw site.error(
        'additional_bindings',
        'an additional binding has additional_bindings of its own',
        'http.proto allows additional_bindings only on the top-level rule; move them up one level',
      );
    }
  }
  return [rule, ...additional];
}

interface BindingContext {
  service: protobuf.Service;
  method: protobuf.Method;
  baseId: string;
  timeoutMs: number | undefined;
  idempotent: boolean;
  auth: RouteAuthSpec | undefined;
  rateLimit: RouteRateLimitSpec | undefined;
  root: protobuf.Root;
}

function checkBinding(site: RuleSite, rule: RuleObject, index: number, ctx: BindingContext): RouteSpec {
  for (const key of Object.keys(rule)) {
    if (!RULE_KEYS.has(key)) {
      throw site.error(key, `unknown HttpRule field "${key}"`, `use one of ${[...RULE_KEYS].join(', ')}`);
    }
  }
  const patterns = PATTERN_KEYS.filter((key) => rule[key] !== undefined);
  if (patterns.length !== 1) {
    throw site.error(
      patterns[1] ?? 'google.api.http',
      patterns.length === 0 ? 'the HTTP rule has no pattern' : `the HTTP rule sets both ${patterns.join(' and ')}`,
      'set exactly one of get, put, post, delete, patch or custom',
    );
  }
  const kind = patterns[0]!;
  let httpMethod: string = kind.toUpperCase();
  let template: string;
  if (kind === 'custom') {
    const custom = rule['custom'] as RuleObject;
    httpMethod = String(custom['kind'] ?? '').toUpperCase();
    template = String(custom['path'] ?? '');
    if (!/^[A-Z][A-Z0-9_-]*$/.test(httpMethod)) {
      throw site.error('custom', `custom pattern kind "${String(custom['kind'] ?? '')}" is not an HTTP method token`, 'set kind to a method name such as HEAD or OPTIONS');
    }
  } else {
    template = String(rule[kind]);
  }
  const parsed = parseTemplateOrThrow(site, template);
  const request = ctx.method.resolvedRequestType!;
  const response = ctx.method.resolvedResponseType!;
  for (const variable of parsed.variables) checkPathField(site, template, request, variable.fieldPath);

  const body = typeof rule['body'] === 'string' ? rule['body'] : '';
  if (body !== '' && (httpMethod === 'GET' || httpMethod === 'HEAD')) {
    throw site.error(`body`, `${httpMethod} ${template} has body "${body}"`, `remove body: ${httpMethod} requests carry no body`);
  }
  if (body !== '' && body !== '*' && !fieldByName(request, body)) {
    throw site.error(`"${body}"`, `body "${body}" is not a field of ${request.fullName.slice(1)}`, `name a top-level field of the request message, or "*"`, 1);
  }
  const responseBody = typeof rule['response_body'] === 'string' ? rule['response_body'] : '';
  if (responseBody !== '' && !fieldByName(response, responseBody)) {
    throw site.error(
      `"${responseBody}"`,
      `response_body "${responseBody}" is not a field of ${response.fullName.slice(1)}`,
      'name a top-level field of the response message',
      1,
    );
  }
  const location = site.locate(`"${template}"`, 1);
  return {
    operationId: index === 0 ? ctx.baseId : `${ctx.baseId}_${index}`,
    service: ctx.service.fullName.slice(1),
    method: ctx.method.name,
    grpcPath: `/${ctx.service.fullName.slice(1)}/${ctx.method.name}`,
    httpMethod,
    template,
    body,
    responseBody,
    requestType: request.fullName.slice(1),
    responseType: response.fullName.slice(1),
    clientStreaming: ctx.method.requestStream === true,
    serverStreaming: ctx.method.responseStream === true,
    timeoutMs: ctx.timeoutMs,
    idempotent: ctx.idempotent,
    ...(ctx.auth === undefined ? {} : { auth: ctx.auth }),
    ...(ctx.rateLimit === undefined ? {} : { rateLimit: ctx.rateLimit }),
    bindingIndex: index,
    source: { file: path.basename(location.file), line: location.line, col: location.col },
  };
}

function parseTemplateOrThrow(site: RuleSite, template: string): PathTemplate {
  const parsed = parsePathTemplate(template);
  if (parsed.ok) return parsed.template;
  throw site.error(`"${template}"`, `bad path template "${template}": ${parsed.message}`, 'see the template grammar in google/api/http.proto', 1 + parsed.offset);
}

/** http.proto: a path variable names a non-repeated, non-message field, through singular messages. */
function checkPathField(site: RuleSite, template: string, request: protobuf.Type, fieldPath: readonly string[]): void {
  let type: protobuf.Type = request;
  fieldPath.forEach((name, i) => {
    const field = fieldByName(type, name);
    const shown = fieldPath.join('.');
    if (!field) {
      throw site.error(`"${template}"`, `path variable "${shown}": ${type.fullName.slice(1)} has no field "${name}"`, 'name an existing field (proto field names, dot-separated)', 1);
    }
    if (field.repeated || field.map) {
      throw site.error(`"${template}"`, `path variable "${shown}" is bound to a ${field.map ? 'map' : 'repeated'} field`, 'bind path variables to singular fields only', 1);
    }
    const last = i === fieldPath.length - 1;
    if (last && field.resolvedType instanceof protobuf.Type) {
      throw site.error(`"${template}"`, `path variable "${shown}" is bound to the message field of type ${field.resolvedType.fullName.slice(1)}`, 'bind it to a scalar or enum field inside that message', 1);
    }
    if (!last) {
      if (!(field.resolvedType instanceof protobuf.Type)) {
        throw site.error(`"${template}"`, `path variable "${shown}": "${name}" is not a message field`, 'only message fields can have sub-fields', 1);
      }
      type = field.resolvedType;
    }
  });
}

function policyTimeout(site: RuleSite, policy: RuleObject | undefined): number | undefined {
  const timeout = policy?.['timeout'];
  if (timeout === undefined) return undefined;
  const ms = typeof timeout === 'string' ? parseDurationMs(timeout) : undefined;
  if (ms === undefined || ms <= 0) {
    throw site.error('timeout', `(protogate.v1.policy).timeout "${String(timeout)}" is not a positive duration`, 'write it like "2s", "1.5s" or "500ms"');
  }
  return ms;
}

/** The `auth` of a method or service policy; roles and schemes appear in the spec only when set. */
function policyAuth(site: RuleSite, policy: RuleObject | undefined): RouteAuthSpec | undefined {
  const auth = policy?.['auth'] as RuleObject | undefined;
  if (auth === undefined) return undefined;
  const listOf = (key: string): unknown[] => {
    const raw = auth[key];
    return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  };
  const scopes = listOf('scopes');
  for (const scope of scopes) {
    if (typeof scope !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) {
      throw site.error('scopes', `auth scope ${JSON.stringify(scope)} is not a valid OAuth scope`, 'write scopes as printable ASCII without spaces, quotes or backslashes, e.g. "library.books.write"');
    }
  }
  const roles = listOf('roles');
  for (const role of roles) {
    // roles travel upstream as space-separated gRPC metadata (x-user-roles): printable ASCII without spaces
    if (typeof role !== 'string' || !/^[\x21-\x7e]+$/.test(role)) {
      throw site.error('roles', `auth role ${JSON.stringify(role)} is not a valid role name`, 'write roles as printable ASCII without spaces, e.g. "librarian"');
    }
  }
  const schemes = listOf('schemes');
  for (const scheme of schemes) {
    if (typeof scheme !== 'string' || !(AUTH_SCHEMES as readonly string[]).includes(scheme)) {
      throw site.error(`"${String(scheme)}"`, `auth scheme ${JSON.stringify(scheme)} is not a scheme protogate knows`, `use ${AUTH_SCHEMES.map((name) => `"${name}"`).join(' or ')}`, 1);
    }
  }
  const isPublic = auth['public'] === true;
  const checked = [['scopes', scopes], ['roles', roles], ['schemes', schemes]] as const;
  for (const [key, list] of checked) {
    if (isPublic && list.length > 0) {
      throw site.error('public', `auth sets public: true together with ${key}, which a public method never checks`, `drop public: true to require the ${key}, or drop the ${key}`);
    }
  }
  return {
    public: isPublic,
    scopes: scopes as string[],
    ...(roles.length === 0 ? {} : { roles: roles as string[] }),
    ...(schemes.length === 0 ? {} : { schemes: [...new Set(schemes as string[])] }),
  };
}

/**
 * The `rate_limit` of a method or service policy: at least 1 request, a window of whole seconds
 * (the RateLimit headers count in seconds), and a key from RATE_LIMIT_KEYS (default principal).
 */
function policyRateLimit(site: RuleSite, policy: RuleObject | undefined): RouteRateLimitSpec | undefined {
  const limit = policy?.['rate_limit'] as RuleObject | undefined;
  if (limit === undefined) return undefined;
  const requests = limit['requests'];
  if (typeof requests !== 'number' || !Number.isInteger(requests) || requests < 1 || requests > 0xffffffff) {
    throw site.error(
      requests === undefined ? 'rate_limit' : 'requests',
      `rate_limit.requests ${requests === undefined ? 'is not set' : `is ${String(requests)}`}; a rate limit allows at least 1 request per window`,
      'write e.g. rate_limit: { requests: 100 per: "1m" }; to leave a method unlimited, set no rate_limit on it or its service',
    );
  }
  const per = limit['per'];
  const perMs = typeof per === 'string' ? parseDurationMs(per) : undefined;
  if (!isRateLimitWindow(perMs)) {
    throw site.error(
      per === undefined ? 'rate_limit' : `"${String(per)}"`,
      per === undefined ? 'rate_limit.per is not set' : `rate_limit.per "${String(per)}" is not a whole number of seconds`,
      'write the window like "1s", "60s" or "1m"',
      per === undefined ? 0 : 1,
    );
  }
  const key = limit['key'] ?? 'principal';
  if (!(RATE_LIMIT_KEYS as readonly unknown[]).includes(key)) {
    throw site.error(`"${String(key)}"`, `rate_limit.key "${String(key)}" is not a rate-limit key`, `use one of ${RATE_LIMIT_KEYS.map((k) => `"${k}"`).join(', ')}`, 1);
  }
  return { requests, perMs, key: key as RateLimitKey };
}

function uniqueOperationId(taken: Set<string>, service: protobuf.Service, method: protobuf.Method): string {
  let id = `${service.name}_${method.name}`;
  if (taken.has(id)) id = `${service.fullName.slice(1).replace(/\./g, '_')}_${method.name}`;
  taken.add(id);
  return id;
}
