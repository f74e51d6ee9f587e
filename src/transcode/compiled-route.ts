// A route ready to serve: its parsed template, request assembler and response encoder, all
// decided once at startup from the RouteSpec.
import type protobuf from 'protobufjs';
import type { RouteSpec } from '../gateway-model.js';
import { parsePathTemplate, type PathTemplate } from '../routing/path-template.js';
import type { CodecRegistry } from './json/codec.js';
import { compileRequestAssembler, type AssembledRequest, type RequestParts, type RequestReadOptions } from './request-assembler.js';
import { compileResponseEncoder, type ResponseEncoder } from './response-encoder.js';
import { compileRawBodyReader, requestTakesRawBody, responseIsRawBody, type RawBody } from './http-body.js';

/** JSON behaviour shared by every route. */
export interface TranscodeOptions extends RequestReadOptions {
  emitDefaults: boolean;
}

/** One servable binding. */
export interface CompiledRoute {
  readonly spec: RouteSpec;
  readonly template: PathTemplate;
  readonly assemble: (parts: RequestParts) => AssembledRequest;
  readonly encodeResponse: ResponseEncoder;
  /** Set when the response is a google.api.HttpBody: its data is the HTTP body, as it is. */
  readonly readRawBody?: ((message: Uint8Array) => RawBody) | undefined;
  /** The request body binds to a google.api.HttpBody: raw bytes, not JSON (a client stream cuts them into messages). */
  readonly takesRawBody: boolean;
}

/** Compiles a RouteSpec; throws if its template does not parse (the build step checked it). */
export function compileRoute(spec: RouteSpec, root: protobuf.Root, codecs: CodecRegistry, options: TranscodeOptions): CompiledRoute {
  const parsed = parsePathTemplate(spec.template);
  if (!parsed.ok) throw new Error(`protogate: route ${spec.operationId}: bad template "${spec.template}": ${parsed.message}`);
  const request = root.lookupType(spec.requestType);
  const response = root.lookupType(spec.responseType);
  return {
    spec,
    template: parsed.template,
    assemble: compileRequestAssembler(spec, parsed.template, request, codecs, options),
    encodeResponse: compileResponseEncoder(spec, codecs, options.emitDefaults),
    readRawBody: responseIsRawBody(spec, response) ? compileRawBodyReader(spec, response) : undefined,
    takesRawBody: requestTakesRawBody(spec, request),
  };
}
