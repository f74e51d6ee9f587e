// Conformance testee: speaks the protobuf conformance protocol on stdin/stdout (4-byte
// little-endian length + ConformanceRequest, answered with ConformanceResponse) and answers
// every JSON case with protogate's own codecs. The protos come from the conformance runner's
// package (PROTOGATE_CONFORMANCE_PROTOS), never from a copy in this repository.
import protobuf from 'protobufjs';
import { createCodecRegistry, type JsonReadOptions, type JsonWriteOptions } from '../../src/transcode/json/codec.js';
import { parseJson } from '../../src/transcode/json/json-parser.js';
import { UnrepresentableError } from '../../src/transcode/json/scalar-types.js';

const protosDir = process.env['PROTOGATE_CONFORMANCE_PROTOS'];
if (protosDir === undefined || protosDir === '') {
  process.stderr.write('PROTOGATE_CONFORMANCE_PROTOS must name the conformance protos directory\n');
  process.exit(2);
}

// proto3 and its editions twin; proto2 (groups, extensions) is answered `skipped`.
const SUPPORTED = new Set(['protobuf_test_messages.proto3.TestAllTypesProto3', 'protobuf_test_messages.editions.proto3.TestAllTypesProto3']);
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/test_messages_') || target.startsWith('conformance/') ? `${protosDir}/${target}` : target);
root.loadSync(['conformance/conformance.proto', 'google/protobuf/test_messages_proto3.proto', 'google/protobuf/test_messages_proto3_editions.proto'], {
  keepCase: true,
});
root.resolveAll();
const Request = root.lookupType('conformance.ConformanceRequest');
const Response = root.lookupType('conformance.ConformanceResponse');
const codecs = createCodecRegistry(root);

const WIRE_PROTOBUF = 1;
const WIRE_JSON = 2;
const JSON_IGNORE_UNKNOWN_PARSING_TEST = 3;
const strict: JsonReadOptions = { ignoreUnknownFields: false };
const lenient: JsonReadOptions = { ignoreUnknownFields: true };
const canonical: JsonWriteOptions = { emitDefaults: false, enumsAsInts: false };

interface ConformanceRequest {
  payload?: string;
  protobuf_payload?: Uint8Array;
  json_payload?: string;
  requested_output_format: number;
  message_type: string;
  test_category: number;
}

type Result = Record<string, string | Uint8Array>;

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function answer(req: ConformanceRequest): Result {
  if (req.message_type === 'conformance.FailureSet') return { protobuf_payload: new Uint8Array(0) };
  if (!SUPPORTED.has(req.message_type)) return { skipped: 'only proto3 messages are supported' };
  const codec = codecs.codec(req.message_type);
  let bytes: Uint8Array;
  if (req.payload === 'protobuf_payload') {
    bytes = req.protobuf_payload ?? new Uint8Array(0);
    let json: string;
    try {
      json = codec.toJson(bytes, canonical);
    } catch (e) {
      // Malformed protobuf is a parse error; a valid message without a JSON form is not.
      if (!(e instanceof UnrepresentableError)) return { parse_error: message(e) };
      if (req.requested_output_format === WIRE_JSON) return { serialize_error: message(e) };
      return { skipped: 'binary round trip of a message without a JSON form' };
    }
    if (req.requested_output_format === WIRE_JSON) return { json_payload: json };
    if (req.requested_output_format !== WIRE_PROTOBUF) return { skipped: 'only protobuf and JSON output are supported' };
    // Binary → binary goes through our own codecs both ways: protobuf → JSON → protobuf.
    try {
      return { protobuf_payload: codec.encodeToBytes(parseJson(json), strict) };
    } catch (e) {
      return { runtime_error: `round trip failed: ${message(e)}` };
    }
  } else if (req.payload === 'json_payload') {
    try {
      const options = req.test_category === JSON_IGNORE_UNKNOWN_PARSING_TEST ? lenient : strict;
      bytes = codec.encodeToBytes(parseJson(req.json_payload ?? ''), options);
    } catch (e) {
      return { parse_error: message(e) };
    }
    if (req.requested_output_format === WIRE_PROTOBUF) return { protobuf_payload: bytes };
  } else {
    return { skipped: `input ${req.payload ?? 'none'} is not supported` };
  }
  if (req.requested_output_format !== WIRE_JSON) return { skipped: 'only protobuf and JSON output are supported' };
  try {
    return { json_payload: codec.toJson(bytes, canonical) };
  } catch (e) {
    return { serialize_error: message(e) };
  }
}

let pending: Buffer = Buffer.alloc(0);
process.stdin.on('data', (chunk: Buffer) => {
  pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
  while (pending.length >= 4) {
    const len = pending.readUInt32LE(0);
    if (pending.length < 4 + len) break;
    const frame = pending.subarray(4, 4 + len);
    pending = pending.subarray(4 + len);
    const req = Request.decode(frame) as unknown as ConformanceRequest;
    let result: Result;
    try {
      result = answer(req);
    } catch (e) {
      result = { runtime_error: message(e) };
    }
    const out = Response.encode(Response.create(result)).finish();
    const head = Buffer.alloc(4);
    head.writeUInt32LE(out.length, 0);
    process.stdout.write(Buffer.concat([head, out]));
  }
});
