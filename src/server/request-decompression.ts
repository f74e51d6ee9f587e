// Compressed request bodies (`Content-Encoding: gzip | deflate | br`): decoded before the
// pipeline parses them, with the decoded size bounded by `limits.maxBodyBytes` — the limit
// means the same for compressed and plain bodies, and a 10 KB gzip bomb that inflates to
// gigabytes is stopped as soon as its output passes the limit (zlib's `maxOutputLength`), never
// buffered whole. Runs on the libuv pool, so a large body does not block the event loop.
// A streamed body (a client-streaming route) is decoded as a stream (`decodingStream`), its
// decoded size counted by its reader (request-body-stream.ts).
import type { Readable, Transform } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Code } from '../errors/codes.js';
import { gatewayError, type GatewayError } from '../errors/gateway-error.js';
import { truncate } from '../errors/user-input.js';

type Decoder = (input: Buffer, options: zlib.ZlibOptions & zlib.BrotliOptions) => Promise<Buffer>;

/** RFC 9110 §8.4.1: `deflate` is the zlib format (RFC 1950); `x-gzip` is `gzip`. */
const DECODERS: Readonly<Record<string, Decoder>> = {
  gzip: promisify(zlib.gunzip),
  'x-gzip': promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
};

/**
 * Codings undone per body at most. Each layer is bounded by the size limit, but a body nested
 * hundreds of times (a header has room for that) would cost hundreds of full decompressions;
 * real clients apply one.
 */
const MAX_CODINGS = 2;

/** What an unsupported coding's 415 advertises (RFC 9110 §12.5.3: Accept-Encoding on a response). */
export const ACCEPTED_REQUEST_ENCODINGS = 'gzip, deflate, br';

/**
 * Decodes `body` as `contentEncoding` says (codings listed in the order they were applied, so
 * undone right to left). Returns the decoded body, or the error to answer: 415 for a coding the
 * gateway does not know, 413 past `maxBytes`, 400 for corrupt data.
 */
export async function decodeRequestBody(body: Buffer, contentEncoding: string, maxBytes: number): Promise<Buffer | GatewayError> {
  const codings = contentEncoding.split(',');
  if (codings.length > MAX_CODINGS) return tooManyCodings(codings.length);
  let decoded = body;
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i]!.trim().toLowerCase();
    if (coding === 'identity' || (coding === '' && codings.length === 1)) continue;
    const decode = DECODERS[coding];
    if (decode === undefined) return unsupportedCoding(coding);
    if (decoded.length === 0) continue;
    try {
      decoded = await decode(decoded, { maxOutputLength: maxBytes });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        return gatewayError(Code.INVALID_ARGUMENT, 'PG_BODY_TOO_LARGE', `decompressed request body is larger than ${maxBytes} bytes`, { httpStatus: 413 });
      }
      return gatewayError(Code.INVALID_ARGUMENT, 'PG_BAD_CONTENT_ENCODING', `request body is not valid ${coding} data (Content-Encoding: ${truncate(contentEncoding, 64)})`);
    }
  }
  return decoded;
}

/** The streaming counterparts of DECODERS. */
const STREAM_DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

/**
 * `body` decoded as `contentEncoding` says, as a stream (each coding's decoder piped into the
 * next, with backpressure), or the 415 for codings the gateway does not undo. Corrupt data makes
 * the returned stream fail with `badEncoding`'s error; the size is for the reader to bound.
 */
export function decodingStream(body: Readable, contentEncoding: string): Readable | GatewayError {
  const codings = contentEncoding.split(',');
  if (codings.length > MAX_CODINGS) return tooManyCodings(codings.length);
  let decoded: Readable = body;
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i]!.trim().toLowerCase();
    if (coding === 'identity' || (coding === '' && codings.length === 1)) continue;
    const create = STREAM_DECODERS[coding];
    if (create === undefined) return unsupportedCoding(coding);
    const decoder = create();
    // pipe() does not pass errors on: the last stream is the one read, so it carries them all
    const source = decoded;
    source.once('error', (error) => decoder.destroy(error));
    decoded = source.pipe(decoder);
  }
  return decoded;
}

/** The 400 for a body that is not valid data of its Content-Encoding. */
export function badEncoding(contentEncoding: string): GatewayError {
  return gatewayError(Code.INVALID_ARGUMENT, 'PG_BAD_CONTENT_ENCODING', `request body is not valid ${truncate(contentEncoding, 64)} data`);
}

function tooManyCodings(count: number): GatewayError {
  return gatewayError(
    Code.INVALID_ARGUMENT,
    'PG_UNSUPPORTED_CONTENT_ENCODING',
    `request Content-Encoding lists ${count} codings; at most ${MAX_CODINGS} are undone`,
    { httpStatus: 415, headers: { 'accept-encoding': ACCEPTED_REQUEST_ENCODINGS } },
  );
}

function unsupportedCoding(coding: string): GatewayError {
  return gatewayError(
    Code.INVALID_ARGUMENT,
    'PG_UNSUPPORTED_CONTENT_ENCODING',
    `request Content-Encoding ${JSON.stringify(truncate(coding, 32))} is not supported; send the body as gzip, deflate, br or uncompressed`,
    { httpStatus: 415, headers: { 'accept-encoding': ACCEPTED_REQUEST_ENCODINGS } },
  );
}
