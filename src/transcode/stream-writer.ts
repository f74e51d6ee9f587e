// How a server stream is framed on HTTP/1.1: the format the client's Accept asks for, and the
// records of each format. NDJSON (application/x-ndjson, the default) is one JSON value per line;
// SSE (text/event-stream, the WHATWG HTML "server-sent events" format) is what EventSource reads.
// A failure after the first message cannot change the HTTP status any more, so it becomes a last
// record: NDJSON `{"error":{code,status,message,details}}` (grpc-gateway's streaming error shape,
// plus `status`), SSE `event: error` with the google.rpc.Status JSON as its data.

/** The framings a server stream can be sent in. */
export type StreamFormat = 'ndjson' | 'sse';

/** Content-Type per format. */
export const STREAM_CONTENT_TYPES: Readonly<Record<StreamFormat, string>> = {
  ndjson: 'application/x-ndjson',
  sse: 'text/event-stream',
};

/** An SSE comment line; EventSource ignores it, proxies see traffic. */
export const SSE_HEARTBEAT = ': ping\n\n';

/**
 * The format an Accept header asks for: SSE when it names text/event-stream with a higher
 * q-value than application/x-ndjson (EventSource sends exactly `text/event-stream`); NDJSON
 * otherwise — also for `*\/*`, `application/json` or no Accept at all, so curl and fetch work as is.
 */
export function streamFormatFor(accept: string | undefined): StreamFormat {
  // media types are case-insensitive (RFC 9110 §8.3.1)
  const ranges = accept?.toLowerCase();
  if (ranges === undefined || !ranges.includes('text/event-stream')) return 'ndjson';
  let sse = 0;
  let ndjson = 0;
  for (const range of ranges.split(',')) {
    const [type = '', ...params] = range.split(';');
    const name = type.trim();
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split('=');
      if (key?.trim().toLowerCase() === 'q') q = Number(value) || 0;
    }
    if (name === 'text/event-stream') sse = Math.max(sse, q);
    else if (name === 'application/x-ndjson') ndjson = Math.max(ndjson, q);
  }
  return sse > 0 && sse > ndjson ? 'sse' : 'ndjson';
}

/** One message as an NDJSON line; `json` is compact canonical JSON (no raw newlines). */
export function ndjsonRecord(json: string): string {
  return `${json}\n`;
}

/** The in-band error record that ends an NDJSON stream. `status` is google.rpc.Status JSON. */
export function ndjsonError(status: string): string {
  return `{"error":${status}}\n`;
}

/** One message as an SSE event, with `id:` when the message carries a cursor. */
export function sseRecord(json: string, id: string | undefined): string {
  const data = `data: ${json.includes('\n') ? json.split('\n').join('\ndata: ') : json}\n\n`;
  return id === undefined || !isResumableEventId(id) ? data : `id: ${id}\n${data}`;
}

/**
 * Whether `id` survives the round trip of an SSE id: sent as `id:`, sent back by a reconnecting
 * EventSource as Last-Event-ID, forwarded to the backend as gRPC metadata `last-event-id`, whose
 * values are printable ASCII (PROTOCOL-HTTP2.md, ASCII-Value). A line break or NUL would also end
 * the SSE field early.
 */
export function isResumableEventId(id: string): boolean {
  return /^[\x20-\x7e]*$/.test(id);
}

/** The in-band error event that ends an SSE stream. */
export function sseError(status: string): string {
  return `event: error\ndata: ${status}\n\n`;
}

/**
 * The event that ends an SSE stream that completed normally. EventSource reconnects whenever a
 * response ends, so a finite stream tells its client it is over (`source.addEventListener('end',
 * () => source.close())`); NDJSON needs no such record (the response simply ends).
 */
export const SSE_END = 'event: end\ndata: {}\n\n';
