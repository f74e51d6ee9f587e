// The build step in one call: load the protos, check and collect their HTTP rules, and
// produce the gateway model (what `serve --proto` builds in memory and `generate` writes).
import type { GatewayModel } from '../src/gateway-model.js';
import { collectRoutes } from './http-rules.js';
import { loadProtos, type LoadedProtos, type LoadOptions } from './load-protos.js';

/** The model and the loaded protos it came from (the OpenAPI generator reads comments there). */
export interface BuiltModel {
  readonly model: GatewayModel;
  readonly protos: LoadedProtos;
}

/** Loads, checks and collects; throws ProtoError (file:line:col) on any problem. */
export function buildModel(options: LoadOptions): BuiltModel {
  const protos = loadProtos(options);
  const routes = collectRoutes(protos);
  const descriptor = protos.root.toJSON({ keepComments: false }) as GatewayModel['descriptor'];
  return { model: { formatVersion: 1, routes, descriptor }, protos };
}
