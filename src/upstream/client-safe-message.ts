// Keeps upstream addresses and internals out of the status message a client may read (DESIGN §4):
// grpc-js's own failure texts name the peer ("connect ECONNREFUSED 10.0.0.5:50051",
// "remote_addr=…"), so they are replaced by a neutral text, and a backend's stack trace is cut;
// the original stays in `cause` for the logs.

// Openings of the texts grpc-js writes itself (client side) for failures it detects locally.
const GRPC_JS_LOCAL =
  /^(No connection established|Connection dropped|Channel closed|Deadline exceeded|Cancelled on client|Received RST_STREAM|Failed to start HTTP\/2 stream|Received message (larger than max|that decompresses)|Received HTTP status code|Stream refused|Protocol error|Name resolution failed|Call dropped|Failed to write message)/;

// An IPv4 or bracketed IPv6 address with a port, as Node's socket errors print them.
const ADDRESS_WITH_PORT = /\b\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}\b|\[[0-9A-Fa-f:.]+\]:\d{1,5}/g;

// A backend that sends its stack trace as the status message (err.stack): frames name files and
// code, so a client gets the text before the first frame — V8 and Java "at …", Python 'File "…"',
// Go's goroutine dump. A Python traceback's head line says nothing, so it gets the neutral text.
const STACK_FRAME = /\n\s*(?:at\s|File "|goroutine \d+ \[)/;
const TRACEBACK_HEAD = /^Traceback \(most recent call last\):?\s*$/;
// An absolute source path with a line number (/srv/app/handler.ts:42:7, C:\app\Books.cs:line 42).
const SOURCE_LOCATION = /(?:[A-Za-z]:\\|\/)[^\s:"'()]*\.[A-Za-z]{1,5}:(?:line )?\d+(?::\d+)?/g;

const neutralByCode: Readonly<Record<number, string>> = {
  1: 'Upstream call cancelled',
  4: 'Upstream deadline exceeded',
  8: 'Upstream response exceeds the size limit',
  13: 'Upstream protocol error',
  14: 'Upstream unavailable',
};

/** The message to put in a result: grpc-js's local texts neutralised, stack traces cut, source locations and addresses masked. */
export function clientSafeMessage(code: number, message: string, target: string): string {
  if (GRPC_JS_LOCAL.test(message)) return neutralByCode[code] ?? 'Upstream call failed';
  const frame = STACK_FRAME.exec(message);
  if (frame !== null) {
    message = message.slice(0, frame.index).trimEnd();
    if (message === '' || TRACEBACK_HEAD.test(message)) return neutralByCode[code] ?? 'Upstream call failed';
  }
  message = message.replace(SOURCE_LOCATION, '[internal]');
  if (message.includes(target)) message = message.split(target).join('[upstream]');
  return message.replace(ADDRESS_WITH_PORT, '[upstream]');
}
