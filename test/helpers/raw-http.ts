// Test helper: HTTP/1.1 over a raw node:net socket, for what fetch cannot send — malformed
// framing, header bytes fetch refuses, pipelined requests, bytes trickled slowly — with a small
// response reader that splits the answers (Content-Length framed, or until close).
import net from 'node:net';

/** One parsed response. */
export interface RawResponse {
  readonly status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** What came back on one connection. */
export interface RawExchange {
  readonly responses: RawResponse[];
  /** The server closed the connection (or reset it) before we did. */
  readonly closedByServer: boolean;
  /** Every byte received, as latin1 text. */
  readonly raw: string;
}

/** Splits complete responses off the front of `data`; returns them and the unread rest. */
export function parseResponses(data: string, ended: boolean): { responses: RawResponse[]; rest: string } {
  const responses: RawResponse[] = [];
  let rest = data;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const length = headers['content-length'];
    if (length === undefined) {
      if (!ended) break;
      responses.push({ status, headers, body: rest.slice(end + 4) });
      rest = '';
      break;
    }
    if (rest.length < end + 4 + Number(length)) break;
    responses.push({ status, headers, body: Buffer.from(rest.slice(end + 4, end + 4 + Number(length)), 'latin1').toString('utf8') });
    rest = rest.slice(end + 4 + Number(length));
  }
  return { responses, rest };
}

/**
 * Writes `parts` on a fresh connection to 127.0.0.1:`port` (with `gapMs` between parts) and
 * resolves once `expect` responses arrived (then closes), the server closed, or `timeoutMs` passed.
 */
export function rawExchange(
  port: number,
  parts: ReadonlyArray<string | Buffer> | string | Buffer,
  options: { expect?: number; timeoutMs?: number; gapMs?: number } = {},
): Promise<RawExchange> {
  const list = typeof parts === 'string' || Buffer.isBuffer(parts) ? [parts] : parts;
  const expect = options.expect ?? 1;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let settled = false;
    let closedByServer = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = () => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      socket.destroy();
      resolve({ responses: parseResponses(data, true).responses, closedByServer, raw: data });
    };
    socket.on('connect', () => {
      list.forEach((part, i) => {
        const write = () => {
          if (!socket.destroyed) socket.write(part);
        };
        if (i === 0 || !options.gapMs) write();
        else timers.push(setTimeout(write, i * options.gapMs));
      });
    });
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      if (parseResponses(data, false).responses.length >= expect) finish();
    });
    socket.on('end', () => {
      closedByServer = true;
      finish();
    });
    socket.on('error', () => {
      closedByServer = true;
      finish();
    });
    timers.push(setTimeout(finish, options.timeoutMs ?? 5000));
  });
}
