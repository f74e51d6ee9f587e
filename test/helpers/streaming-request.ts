// Test helper: an HTTP/1.1 request whose body the test writes piece by piece (chunked), with the
// response readable before the body has ended — what fetch cannot do on HTTP/1.1 — so a test can
// interleave writing request lines with observing the backend and reading response lines.
import http from 'node:http';

/** The answer of a streaming request, read whole. */
export interface StreamedAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  readonly json: any;
}

/** A request in flight: write its body, read its response as it comes. */
export interface StreamingRequest {
  readonly request: http.ClientRequest;
  /** Resolves with the response head (the body still streaming). */
  readonly response: Promise<http.IncomingMessage>;
  /** Writes `data`, waiting while the socket is full; false if the request was torn down. */
  write(data: string | Buffer): Promise<boolean>;
  /** Ends the body and reads the whole answer. */
  finish(): Promise<StreamedAnswer>;
  /** The whole answer, without ending the body (for answers given before it ends). */
  answer(): Promise<StreamedAnswer>;
  /** The next complete line of the response body (without '\n'), or undefined at its end. */
  nextLine(): Promise<string | undefined>;
}

/** Starts a POST to `url` whose body the caller writes. `agent: false`: its own connection. */
export function startStreamingRequest(url: string, headers: http.OutgoingHttpHeaders): StreamingRequest {
  const request = http.request(url, { method: 'POST', headers, agent: false });
  request.on('error', () => {});
  // the head now, not at the first write: the gateway routes (and may answer) before any body
  request.flushHeaders();
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  let buffered = '';
  let ended = false;
  let wake: (() => void) | undefined;
  void response.then((res) => {
    res.setEncoding('utf8');
    res.on('data', (text: string) => {
      buffered += text;
      wake?.();
    });
    res.on('end', () => {
      ended = true;
      wake?.();
    });
    res.on('error', () => {
      ended = true;
      wake?.();
    });
  }, () => {});
  const whole = async (): Promise<StreamedAnswer> => {
    const res = await response;
    while (!ended) await new Promise<void>((resolve) => (wake = resolve));
    let json: unknown;
    try {
      json = JSON.parse(buffered);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode ?? 0, headers: res.headers, text: buffered, json };
  };
  return {
    request,
    response,
    write: (data) =>
      new Promise<boolean>((resolve) => {
        if (request.destroyed) return resolve(false);
        if (request.write(data)) return resolve(true);
        const onDrain = () => {
          request.off('close', onClose);
          resolve(true);
        };
        const onClose = () => {
          request.off('drain', onDrain);
          resolve(false);
        };
        request.once('drain', onDrain);
        request.once('close', onClose);
      }),
    finish: () => {
      request.end();
      return whole();
    },
    answer: whole,
    async nextLine() {
      await response;
      for (;;) {
        const newline = buffered.indexOf('\n');
        if (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          return line;
        }
        if (ended) return undefined;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}
