// ndjsonLines: lines cut from chunks however the chunks fall.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBlankLine, ndjsonLines } from '../../../src/transcode/ndjson-lines.js';

async function linesOf(chunks: string[]): Promise<string[]> {
  const source = (async function* () {
    for (const chunk of chunks) yield Buffer.from(chunk);
  })();
  const lines: string[] = [];
  for await (const line of ndjsonLines(source)) lines.push(Buffer.from(line).toString());
  return lines;
}

describe('ndjsonLines', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['an empty body has no lines', [], []],
    ['empty chunks have no lines', ['', ''], []],
    ['one line without a newline', ['{"a":1}'], ['{"a":1}']],
    ['a trailing newline ends the last line, no empty line after it', ['{"a":1}\n'], ['{"a":1}']],
    ['several lines in one chunk, blank ones kept (they count)', ['a\n\nb\n'], ['a', '', 'b']],
    ['a line across three chunks', ['{"a"', ':', '1}\nb'], ['{"a":1}', 'b']],
    ['a newline at a chunk start', ['a', '\nb'], ['a', 'b']],
    ['a CR before the newline stays on the line', ['a\r\nb'], ['a\r', 'b']],
  ];
  for (const [name, chunks, expected] of cases) {
    it(name, async () => assert.deepEqual(await linesOf(chunks), expected));
  }

  it('pulls the next chunk only when the next line is asked for', async () => {
    let pulled = 0;
    const source = (async function* () {
      for (const chunk of ['a\n', 'b\n', 'c\n']) {
        pulled++;
        yield Buffer.from(chunk);
      }
    })();
    const lines = ndjsonLines(source);
    await lines.next();
    assert.equal(pulled, 1);
    await lines.next();
    assert.equal(pulled, 2);
  });

  it('isBlankLine: spaces, tabs and CR only', () => {
    assert.equal(isBlankLine(Buffer.from(' \t\r')), true);
    assert.equal(isBlankLine(Buffer.from('')), true);
    assert.equal(isBlankLine(Buffer.from(' {}')), false);
  });
});
