// The request messages of a client-streaming (or bidirectional) call, read from the HTTP body as
// it arrives: NDJSON, one message per line, each assembled like a unary request's body (with the
// same path and query bindings); or, for a google.api.HttpBody request, the raw bytes cut into
// HttpBody messages. Nothing is read ahead of the consumer, so a slow upstream slows the reading.
import { Code } from '../errors/codes.js';
import { GatewayError, gatewayError } from '../errors/gateway-error.js';
import type { CompiledRoute } from './compiled-route.js';
import { isBlankLine, ndjsonLines } from './ndjson-lines.js';
import type { AssembledRequest, RequestParts } from './request-assembler.js';

/** The request-dependent inputs of a streamed request body. */
export interface RequestStreamParts {
  readonly bindings: RequestParts['bindings'];
  readonly query: string;
  /** The body's chunks as they arrive; errors they throw (413, a closed client) are GatewayErrors. */
  readonly body: AsyncIterable<Uint8Array>;
  readonly contentType: string | undefined;
}

/** Media types a streamed JSON body may have: newline-delimited JSON under its usual names. */
const NDJSON_TYPES = ['application/x-ndjson', 'application/jsonl', 'application/json-lines'];
const JSON_TYPE = 'application/json';
/**
 * Data per HttpBody message of a raw upload: small enough that the first bytes reach the
 * service at once, large enough that the per-message cost stays small.
 */
export const RAW_CHUNK_BYTES = 64 * 1024;

/**
 * The assembled request messages, in order. Throws a GatewayError for a bad line (`line N: …`,
 * counting every line, blank ones too), for a body that is not NDJSON (415), and for what the
 * body itself throws. An empty body yields nothing.
 */
export function readRequestStream(route: CompiledRoute, parts: RequestStreamParts): AsyncGenerator<AssembledRequest, void, undefined> {
  return route.takesRawBody ? rawMessages(route, parts) : ndjsonMessages(route, parts);
}

/** The query-only assembly of a stream without messages: its system parameters ($alt, $fields, …). */
export function assembleWithoutBody(route: CompiledRoute, parts: Pick<RequestStreamParts, 'bindings' | 'query'>): AssembledRequest {
  return route.assemble({ bindings: parts.bindings, query: parts.query, body: undefined, contentType: undefined });
}

async function* ndjsonMessages(route: CompiledRoute, parts: RequestStreamParts): AsyncGenerator<AssembledRequest, void, undefined> {
  const mediaType = parts.contentType?.split(';')[0]?.trim().toLowerCase();
  const ndjson = mediaType !== undefined && NDJSON_TYPES.includes(mediaType);
  let line = 0;
  for await (const text of ndjsonLines(parts.body)) {
    line++;
    // checked at the first bytes, not up front: a body-less request may carry any Content-Type
    if (!ndjson && text.byteLength > 0) throw notNdjson(route);
    if (isBlankLine(text)) continue;
    try {
      yield route.assemble({ bindings: parts.bindings, query: parts.query, body: text, contentType: JSON_TYPE });
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      throw new GatewayError(error.code, error.reason, `line ${line}: ${error.message}`, {
        details: error.details,
        ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
      });
    }
  }
}

/**
 * google.api.HttpBody messages of at most RAW_CHUNK_BYTES of data each, as the bytes arrive;
 * the first carries the request's Content-Type (http-body.ts: application/octet-stream when it
 * has none), the others leave `content_type` empty, as a stream of HttpBody chunks does.
 */
async function* rawMessages(route: CompiledRoute, parts: RequestStreamParts): AsyncGenerator<AssembledRequest, void, undefined> {
  let contentType = parts.contentType;
  for await (const chunk of parts.body) {
    for (let start = 0; start < chunk.byteLength; start += RAW_CHUNK_BYTES) {
      const data = chunk.subarray(start, start + RAW_CHUNK_BYTES);
      yield route.assemble({ bindings: parts.bindings, query: parts.query, body: data, contentType });
      contentType = '';
    }
  }
}

function notNdjson(route: CompiledRoute): GatewayError {
  const { service, method } = route.spec;
  return gatewayError(
    Code.INVALID_ARGUMENT,
    'PG_UNSUPPORTED_MEDIA_TYPE',
    `${service}/${method} is client-streaming: send its messages as application/x-ndjson, one JSON message per line`,
    { httpStatus: 415 },
  );
}
