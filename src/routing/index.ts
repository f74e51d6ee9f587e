// The routing room's public surface: HttpRule path templates and the route table that matches
// requests against them. No Fastify or gRPC imports; codegen uses it too.
export type { PathTemplate, Segment, TemplateParseResult, TemplateVariable } from './path-template.js';
export { parsePathTemplate, templateShapeKey } from './path-template.js';
export type { MatchResult, RouteMatch } from './route-table.js';
export { RouteTable } from './route-table.js';
export { decodeComponent, decodeKeepingSlashes } from './percent-decoding.js';
