// Loads the codec test protos (test/unit/json/fixtures) for the JSON codec tests.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { createCodecRegistry, type JsonReadOptions, type JsonWriteOptions, type MessageCodec } from '../../../src/transcode/json/codec.js';
import { parseJson } from '../../../src/transcode/json/json-parser.js';

export const fixtureDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export const root = new protobuf.Root().loadSync(path.join(fixtureDir, 'codec_test.proto'), { keepCase: true });
root.resolveAll();
export const registry = createCodecRegistry(root);

export const strict: JsonReadOptions = { ignoreUnknownFields: false };
export const lenient: JsonReadOptions = { ignoreUnknownFields: true };
export const canonical: JsonWriteOptions = { emitDefaults: false, enumsAsInts: false };
export const withDefaults: JsonWriteOptions = { emitDefaults: true, enumsAsInts: false };

/** The codec of a fixture message by its short name. */
export function codecOf(name: string): MessageCodec {
  return registry.codec(`protogate.test.json.${name}`);
}

/** JSON text → protobuf → canonical JSON value (parsed, for deep comparison). */
export function roundTrip(name: string, json: string, read = strict, write = canonical): unknown {
  const codec = codecOf(name);
  return JSON.parse(codec.toJson(codec.encodeToBytes(parseJson(json), read), write));
}
