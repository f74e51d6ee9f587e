// Turns the upstream's protobuf response into the HTTP JSON body: the whole message or the
// `response_body` field, honouring `$alt` enum encoding, `$fields` and `$prettyPrint`.
import type { RouteSpec } from '../gateway-model.js';
import type { CodecRegistry, JsonWriteOptions } from './json/codec.js';
import { applyResponseFieldMask } from './response-field-mask.js';
import type { SystemParameters } from './system-parameters.js';

/** Encodes one route's responses; throws a plain Error when the upstream bytes are malformed. */
export type ResponseEncoder = (message: Uint8Array, system: Readonly<SystemParameters>) => string;

/** Builds the response encoder of one route. */
export function compileResponseEncoder(spec: RouteSpec, codecs: CodecRegistry, emitDefaults: boolean): ResponseEncoder {
  const codec = codecs.codec(spec.responseType);
  const plain: JsonWriteOptions = { emitDefaults, enumsAsInts: false };
  const enumsAsInts: JsonWriteOptions = { emitDefaults, enumsAsInts: true };
  const field = spec.responseBody;
  return (message, system) => {
    const options = system.enumsAsInts ? enumsAsInts : plain;
    const json = field === '' ? codec.toJson(message, options) : codec.fieldToJson(message, field, options);
    if (system.fields === undefined && !system.prettyPrint) return json;
    // Rare paths: re-shape the canonical JSON. Parsing it back is lossless (int64 are strings).
    let value: unknown = JSON.parse(json);
    if (system.fields !== undefined) value = applyResponseFieldMask(value, system.fields);
    return system.prettyPrint ? `${JSON.stringify(value, null, 2)}\n` : JSON.stringify(value);
  };
}
