// Build step, last stage: the OpenAPI 3.1 document `protogate generate` writes next to the
// route table. Deterministic: the same protos give byte-identical JSON (operations in proto
// order, components sorted by name, no times or absolute paths).
import protobuf from 'protobufjs';
import type { GatewayModel } from '../src/gateway-model.js';
import type { LoadedProtos } from './load-protos.js';
import { buildOperation } from './openapi/operations.js';
import { planPaths, type ResourceNames } from './openapi/paths.js';
import { collectResourcePatterns, fieldAt, namesFromPatterns, patternsOfField, type ResourcePatterns } from './openapi/resource-patterns.js';
import { refTo, SchemaRegistry, type Schema } from './openapi/schemas.js';
import { addRateLimitComponents, markRateLimited } from './openapi/rate-limit-responses.js';
import { AUTH_RESPONSE_NAMES, ERROR_RESPONSE_COMPONENTS, SECURITY_SCHEMES, STATUS_SCHEMA, statusSchema, withStatusRef } from './openapi/status-schema.js';

/** One document per service, for teams that publish each API on its own (`generate --openapi-per-service`). */
export function buildServiceDocuments(model: GatewayModel, protos: LoadedProtos): Map<string, Record<string, unknown>> {
  const services = [...new Set(model.routes.map((route) => route.service))];
  return new Map(services.map((service) => [service, buildOpenApi({ ...model, routes: model.routes.filter((route) => route.service === service) }, protos)]));
}

/** The OpenAPI 3.1 document for the model's routes. */
export function buildOpenApi(model: GatewayModel, protos: LoadedProtos): Record<string, unknown> {
  const root = protos.root;
  const registry = new SchemaRegistry();
  const services = [...new Set(model.routes.map((route) => route.service))].map((name) => root.lookupService(name));
  const tagOf = tagNames(services);

  const patterns = collectResourcePatterns(root);
  const plan = planPaths(model.routes, (route) => resourceNamesFor(root.lookupType(route.requestType), patterns));
  const paths: Record<string, Record<string, Schema>> = {};
  for (const route of model.routes) {
    const path = plan.paths.get(route);
    if (path === undefined) continue;
    const item = (paths[path.key] ??= {});
    const operation = buildOperation(route, path, root, registry, tagOf.get(route.service)!);
    if (route.rateLimit !== undefined) markRateLimited(operation, route.rateLimit);
    item[route.httpMethod.toLowerCase()] = operation;
  }

  registry.ref(root.lookupType('google.protobuf.Any'));
  const schemas = registry.components();
  // A proto message could be called `Status` only outside any package; it keeps its name.
  const statusName = STATUS_SCHEMA in schemas ? `protogate.${STATUS_SCHEMA}` : STATUS_SCHEMA;
  const secured = model.routes.some((route) => route.auth !== undefined && !route.auth.public);
  const responseComponents = secured
    ? ERROR_RESPONSE_COMPONENTS
    : Object.fromEntries(Object.entries(ERROR_RESPONSE_COMPONENTS).filter(([name]) => !AUTH_RESPONSE_NAMES.has(name)));
  const statusRef = refTo(statusName)['$ref'] as string;
  const responses = withStatusRef(responseComponents, statusRef) as Schema;
  const components: Schema = {
    schemas: sortKeys({ ...schemas, [statusName]: statusSchema() }),
    responses,
    ...(secured ? { securitySchemes: structuredClone(referencedSchemes(paths)) as Schema } : {}),
  };
  if (model.routes.some((route) => route.rateLimit !== undefined)) addRateLimitComponents(components, statusRef);
  const document: Record<string, unknown> = {
    openapi: '3.1.0',
    info: {
      title: services.map((service) => tagOf.get(fullName(service))).join(', ') || 'protogate',
      description: `JSON/HTTP API served by protogate for ${services.map(fullName).join(', ') || 'no services'}.`,
      version: versionOf(services),
    },
    tags: services.map((service) => {
      const tag: Schema = { name: tagOf.get(fullName(service))! };
      if (service.comment) tag['description'] = service.comment;
      return tag;
    }),
    paths,
    components,
  };
  if (plan.unlisted.length > 0) {
    document['x-protogate-unlisted-routes'] = plan.unlisted.map(({ route, reason }) => ({
      operationId: route.operationId,
      method: route.httpMethod,
      template: route.template,
      reason,
    }));
  }
  return document;
}

/** The security schemes some operation lists (a route's `auth.schemes` may leave one out everywhere). */
function referencedSchemes(paths: Record<string, Record<string, Schema>>): Record<string, Schema> {
  const used = new Set<string>();
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item)) {
      for (const requirement of (operation['security'] as Schema[] | undefined) ?? []) for (const name of Object.keys(requirement)) used.add(name);
    }
  }
  return Object.fromEntries(Object.entries(SECURITY_SCHEMES).filter(([name]) => used.has(name)));
}

/** Path parameter names from the resource pattern each variable's field refers to. */
function resourceNamesFor(request: protobuf.Type, patterns: ResourcePatterns): ResourceNames {
  return (variable, segments) => {
    const field = fieldAt(request, variable.fieldPath);
    return field === undefined ? undefined : namesFromPatterns(segments, patternsOfField(field, patterns));
  };
}

/** Tag per service: the short name, or the full name when two services share a short name. */
function tagNames(services: readonly protobuf.Service[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const service of services) count.set(service.name, (count.get(service.name) ?? 0) + 1);
  return new Map(services.map((s) => [fullName(s), count.get(s.name)! > 1 ? fullName(s) : s.name]));
}

/** The API version from the packages' last part (`library.v1` → `v1`). */
function versionOf(services: readonly protobuf.Service[]): string {
  const versions = new Set<string>();
  for (const service of services) {
    const last = fullName(service).split('.').slice(-2, -1)[0] ?? '';
    if (/^v\d+(?:(?:alpha|beta)\d*)?$/.test(last)) versions.add(last);
  }
  return versions.size === 0 ? 'unversioned' : [...versions].sort().join(', ');
}

function fullName(object: protobuf.ReflectionObject): string {
  return object.fullName.replace(/^\./, '');
}

function sortKeys(object: Record<string, Schema>): Record<string, Schema> {
  return Object.fromEntries(Object.keys(object).sort().map((key) => [key, object[key]!]));
}
