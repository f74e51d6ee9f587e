import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clientSafeMessage } from '../../../src/upstream/client-safe-message.js';

const target = 'books.internal:50051';
const cases: ReadonlyArray<readonly [string, number, string, string]> = [
  ['refused connection', 14, 'No connection established. Last error: connect ECONNREFUSED 10.1.2.3:50051', 'Upstream unavailable'],
  ['deadline with remote_addr', 4, 'Deadline exceeded after 0.151s,remote_addr=127.0.0.1:40111', 'Upstream deadline exceeded'],
  ['client cancel', 1, 'Cancelled on client', 'Upstream call cancelled'],
  ['local size limit', 8, 'Received message larger than max (5 vs 4)', 'Upstream response exceeds the size limit'],
  ['rst stream', 13, 'Received RST_STREAM with code 2 triggered by internal client error', 'Upstream protocol error'],
  ['upstream text kept', 9, 'book is locked', 'book is locked'],
  ['upstream naming the target', 5, `no shelf on ${target}`, 'no shelf on [upstream]'],
  ['upstream naming an IPv4 peer', 2, 'proxy 192.168.0.7:8080 said no', 'proxy [upstream] said no'],
  ['upstream naming an IPv6 peer', 2, 'peer [::1]:9000 hung up', 'peer [upstream] hung up'],
  ['a version number is no address', 3, 'version 1.2.3.4 is too old', 'version 1.2.3.4 is too old'],
  // A backend that puts its stack trace in grpc-message: only the first line reaches a client.
  ['a V8 stack trace', 13, 'Error: boom\n    at handler (/srv/app/handler.ts:42:7)\n    at async run (node:internal/x:1:2)', 'Error: boom'],
  ['a Python traceback', 2, 'Traceback (most recent call last):\n  File "/srv/app.py", line 3, in f\nValueError: x', 'Upstream call failed'],
  ['a Java stack trace', 2, 'java.lang.IllegalStateException: nope\n\tat com.acme.Books.get(Books.java:42)', 'java.lang.IllegalStateException: nope'],
  ['a Go panic', 2, 'panic: runtime error\n\ngoroutine 1 [running]:\nmain.main()\n\t/srv/main.go:9 +0x1d', 'panic: runtime error'],
  ['a source location', 13, 'failed at /srv/app/handler.ts:42:7 while saving', 'failed at [internal] while saving'],
  ['a Windows source location', 13, 'failed in C:\\app\\Books.cs:line 42', 'failed in [internal]'],
  ['a resource path is no file', 5, 'shelves/1/books/2 not found', 'shelves/1/books/2 not found'],
  ['a multi-line message without a trace', 3, 'name is required\nage must be positive', 'name is required\nage must be positive'],
];

describe('clientSafeMessage', () => {
  for (const [name, code, message, expected] of cases) {
    it(name, () => assert.equal(clientSafeMessage(code, message, target), expected));
  }
});
