// The framing of server streams (src/transcode/stream-writer.ts): Accept negotiation and the
// NDJSON / SSE records, table-driven.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ndjsonError, ndjsonRecord, sseError, sseRecord, streamFormatFor } from '../../../src/transcode/stream-writer.js';

describe('streamFormatFor', () => {
  const cases: Array<[string | undefined, 'ndjson' | 'sse']> = [
    [undefined, 'ndjson'],
    ['*/*', 'ndjson'],
    ['application/json', 'ndjson'],
    ['application/x-ndjson', 'ndjson'],
    ['text/event-stream', 'sse'],
    ['text/event-stream;q=0.5, application/x-ndjson', 'ndjson'],
    ['application/x-ndjson;q=0.2, text/event-stream', 'sse'],
    ['text/event-stream;q=0', 'ndjson'],
    ['text/html, TEXT/Event-Stream', 'sse'], // media types are case-insensitive
    ['text/html, text/event-stream;charset=utf-8', 'sse'],
  ];
  for (const [accept, format] of cases) {
    it(`${accept ?? '(no Accept)'} → ${format}`, () => assert.equal(streamFormatFor(accept), format));
  }
});

describe('records', () => {
  it('NDJSON: one line per message, the error record wraps the Status', () => {
    assert.equal(ndjsonRecord('{"a":1}'), '{"a":1}\n');
    assert.equal(ndjsonError('{"code":10}'), '{"error":{"code":10}}\n');
  });
  it('SSE: data per message, id when given, multi-line JSON as several data lines', () => {
    assert.equal(sseRecord('{"a":1}', undefined), 'data: {"a":1}\n\n');
    assert.equal(sseRecord('{"a":1}', 'c-7'), 'id: c-7\ndata: {"a":1}\n\n');
    assert.equal(sseRecord('{\n"a":1\n}', undefined), 'data: {\ndata: "a":1\ndata: }\n\n');
    assert.equal(sseError('{"code":5}'), 'event: error\ndata: {"code":5}\n\n');
  });
  it('SSE: an id that would break the field, or could not come back as gRPC metadata, is left out', () => {
    assert.equal(sseRecord('{}', 'a\nb'), 'data: {}\n\n');
    assert.equal(sseRecord('{}', 'a\0b'), 'data: {}\n\n');
    assert.equal(sseRecord('{}', 'café-1'), 'data: {}\n\n');
    assert.equal(sseRecord('{}', 'a\tb'), 'data: {}\n\n');
    assert.equal(sseRecord('{}', 'a b~1'), 'id: a b~1\ndata: {}\n\n');
  });
});
