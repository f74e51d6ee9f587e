// Reads the `grpc-status-details-bin` trailer (a serialized google.rpc.Status) so the pipeline
// can forward an upstream's rich error details. Upstream bytes are untrusted: malformed input
// yields undefined, never an exception.
import protobuf from 'protobufjs/minimal.js';

/** A `google.protobuf.Any`, still encoded. */
export interface EncodedAny {
  typeUrl: string;
  value: Uint8Array;
}

/** A decoded `google.rpc.Status` whose details are left as encoded `Any`s. */
export interface DecodedStatus {
  code: number;
  message: string;
  details: Array<EncodedAny>;
}

const VARINT = 0;
const LENGTH_DELIMITED = 2;

/**
 * Decodes grpc-status-details-bin bytes → `{ code, message, details }` or undefined if
 * malformed. Unknown fields are skipped, as any protobuf reader would.
 */
export function decodeStatusDetails(bytes: Uint8Array): DecodedStatus | undefined {
  try {
    // google/rpc/status.proto: int32 code = 1; string message = 2; repeated Any details = 3;
    const reader = protobuf.Reader.create(bytes);
    const status: DecodedStatus = { code: 0, message: '', details: [] };
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const field = tag >>> 3;
      const wireType = tag & 7;
      if (field === 1 && wireType === VARINT) status.code = reader.int32();
      else if (field === 2 && wireType === LENGTH_DELIMITED) status.message = reader.string();
      else if (field === 3 && wireType === LENGTH_DELIMITED) status.details.push(decodeAny(reader.bytes()));
      else if (field === 0 || field <= 3) return undefined; // field 0 is invalid; a known field with the wrong wire type is corrupt
      else reader.skipType(wireType);
    }
    return status;
  } catch {
    return undefined; // truncated varint or length, bad wire type, bad nested Any
  }
}

function decodeAny(bytes: Uint8Array): EncodedAny {
  // google/protobuf/any.proto: string type_url = 1; bytes value = 2;
  const reader = protobuf.Reader.create(bytes);
  const any: EncodedAny = { typeUrl: '', value: new Uint8Array(0) };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === LENGTH_DELIMITED) any.typeUrl = reader.string();
    else if (field === 2 && wireType === LENGTH_DELIMITED) any.value = reader.bytes();
    else if (field === 0 || field <= 2) throw new RangeError('malformed google.protobuf.Any');
    else reader.skipType(wireType);
  }
  return any;
}
