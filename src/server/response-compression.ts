// Response compression (config key `compression`): the HTTP adapter compresses a reply body
// with br or gzip when the client's Accept-Encoding allows it and the body is large enough to
// gain from it.
//
// Why node:zlib here and not @fastify/compress: the adapter writes replies itself, already
// serialised, straight to `reply.raw` (Fastify's send path has nothing to add, see
// http-server.ts), so an onSend-hook plugin would never see them; and one string in, one buffer
// out needs no streams.
import { promisify } from 'node:util';
import zlib from 'node:zlib';

/** Content codings the gateway can produce, in the server's order of preference. */
export type ResponseEncoding = 'br' | 'gzip';

/** The `compression` config section, as validated by the config schema. */
export interface CompressionConfig {
  readonly enabled: boolean;
  /** Bodies shorter than this are sent as they are. */
  readonly minBytes: number;
  /** Codings offered, in the server's order of preference for ties in q-value. */
  readonly encodings: readonly ResponseEncoding[];
  /** Brotli quality 0–11. */
  readonly brotliQuality: number;
  /** gzip level 1–9. */
  readonly gzipLevel: number;
}

/** The compiled policy the adapter calls. */
export interface ResponseCompressor {
  readonly minBytes: number;
  /** The coding to use for this Accept-Encoding header, or `undefined` for none. */
  negotiate(acceptEncoding: string | undefined): ResponseEncoding | undefined;
  /** Compresses a body; synchronously for small bodies, on the libuv pool for large ones. */
  compress(body: string | Buffer, encoding: ResponseEncoding): Buffer | Promise<Buffer>;
}

/**
 * From this size on the body is compressed on the libuv thread pool instead of the event loop.
 * bench/response-compression.bench.ts, JSON list bodies on this machine (2 shared cores): a
 * synchronous br q4 / gzip -6 call blocks the loop ~30 µs at 1 KB, ~60 µs at 4 KB, ~150 µs at
 * 16 KB, 0.2–0.7 ms at 32 KB and 1.2–1.6 ms at 64 KB, while an asynchronous call costs ~150–250
 * µs of wall time whatever the size (the thread-pool hop). Below 16 KB the synchronous call is
 * cheaper than the hop; above it, it would block every other request for longer than the hop.
 */
export const ASYNC_COMPRESSION_BYTES = 16 * 1024;

/**
 * Whether an answer of this Content-Type is worth compressing: JSON (the gateway's own answers,
 * which set no type here) and text-like media. The raw bytes of a google.api.HttpBody answer —
 * images, archives, video — are usually compressed already, so compressing them again costs CPU
 * and makes them larger.
 */
export function compressibleType(contentType: string | string[] | undefined): boolean {
  if (contentType === undefined) return true;
  const type = (Array.isArray(contentType) ? contentType[0] ?? '' : contentType).split(';', 1)[0]!.trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    type.endsWith('+json') ||
    type.endsWith('+xml') ||
    COMPRESSIBLE_APPLICATION_TYPES.has(type)
  );
}

const COMPRESSIBLE_APPLICATION_TYPES: ReadonlySet<string> = new Set([
  'application/json',
  'application/x-ndjson',
  'application/xml',
  'application/javascript',
  'application/yaml',
  'application/csv',
  'application/graphql',
  'image/svg+xml',
]);

const brotliAsync = promisify(zlib.brotliCompress);
const gzipAsync = promisify(zlib.gzip);

/** Compiles the config; `undefined` when compression is off (the adapter then skips it with one branch). */
export function createResponseCompressor(config: CompressionConfig): ResponseCompressor | undefined {
  if (!config.enabled || config.encodings.length === 0) return undefined;
  const offered = config.encodings;
  const brotliParams = (size: number): zlib.BrotliOptions => ({
    params: {
      // Brotli's default quality 11 takes ~18 ms for a 16 KB body and ~1 s for 256 KB (the
      // bench): right for static assets compressed once, far too slow per response. Quality 4
      // costs about what gzip -6 does and still compresses 10–20% smaller.
      [zlib.constants.BROTLI_PARAM_QUALITY]: config.brotliQuality,
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
    },
  });
  const gzipOptions: zlib.ZlibOptions = { level: config.gzipLevel };
  // Clients send few distinct headers (one per browser version), so the negotiation is cached.
  const cache = new Map<string, ResponseEncoding | undefined>();
  return {
    minBytes: config.minBytes,
    negotiate(acceptEncoding) {
      if (acceptEncoding === undefined || acceptEncoding === '') return undefined;
      if (cache.has(acceptEncoding)) return cache.get(acceptEncoding);
      const chosen = negotiateEncoding(acceptEncoding, offered);
      if (cache.size >= 256) cache.clear();
      cache.set(acceptEncoding, chosen);
      return chosen;
    },
    compress(body, encoding) {
      const input = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const large = input.length >= ASYNC_COMPRESSION_BYTES;
      if (encoding === 'br') {
        const options = brotliParams(input.length);
        return large ? brotliAsync(input, options) : zlib.brotliCompressSync(input, options);
      }
      return large ? gzipAsync(input, gzipOptions) : zlib.gzipSync(input, gzipOptions);
    },
  };
}

/**
 * RFC 9110 §12.5.3: picks the offered coding with the highest q-value above 0 (ties go to the
 * server's order). A coding not listed takes the q of `*` if present, else it is not acceptable;
 * `x-gzip` is `gzip` (§8.4.1.3). `undefined` means identity — also when the client refuses
 * identity too (`identity;q=0`): sending the body as it is beats a 406 nobody handles.
 */
export function negotiateEncoding(acceptEncoding: string, offered: readonly ResponseEncoding[]): ResponseEncoding | undefined {
  const weights = parseAcceptEncoding(acceptEncoding);
  const any = weights.get('*');
  let best: ResponseEncoding | undefined;
  let bestQ = 0;
  for (const coding of offered) {
    const q = weights.get(coding) ?? any ?? 0;
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}

/** The codings of an Accept-Encoding header (lower-cased) with their q-values; malformed entries are dropped. */
export function parseAcceptEncoding(header: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const item of header.split(',')) {
    const semicolon = item.indexOf(';');
    let coding = (semicolon < 0 ? item : item.slice(0, semicolon)).trim().toLowerCase();
    if (coding === '') continue;
    if (coding === 'x-gzip') coding = 'gzip';
    let q = 1;
    if (semicolon >= 0) {
      const parsed = qValue(item.slice(semicolon + 1));
      if (parsed === undefined) continue;
      q = parsed;
    }
    // The same coding listed twice: the higher weight counts.
    weights.set(coding, Math.max(q, weights.get(coding) ?? 0));
  }
  return weights;
}

/** `q=0.8` (RFC 9110 §12.4.2: 0 to 1, at most three decimals); other parameters are ignored. */
function qValue(parameters: string): number | undefined {
  let q = 1;
  for (const parameter of parameters.split(';')) {
    const eq = parameter.indexOf('=');
    if (eq < 0 || parameter.slice(0, eq).trim().toLowerCase() !== 'q') continue;
    const text = parameter.slice(eq + 1).trim();
    if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(text)) return undefined;
    q = Number(text);
  }
  return q;
}
