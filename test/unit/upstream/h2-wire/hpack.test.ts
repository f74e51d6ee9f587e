// HPACK for the wire transport: the decoder against RFC 7541 Appendix C (every example of C.2–C.6,
// with the dynamic table after each block), the Huffman code over every octet, malformed blocks,
// and the request encoder read back by the decoder.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder } from '../../../../src/upstream/h2-wire/hpack-decoder.js';
import { HeaderBlockWriter, pathField, requestPrefix } from '../../../../src/upstream/h2-wire/hpack-encoder.js';
import { decodeHuffman } from '../../../../src/upstream/h2-wire/huffman.js';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from '../../../../src/upstream/h2-wire/huffman-table.js';

type Field = readonly [string, string];

function decode(decoder: HpackDecoder, hex: string): Field[] {
  const block = Buffer.from(hex, 'hex');
  const out: string[] = [];
  const problem = decoder.decode(block, 0, block.length, out);
  assert.equal(problem, undefined, `decoding ${hex}`);
  const fields: Field[] = [];
  for (let i = 0; i < out.length; i += 2) fields.push([out[i] as string, out[i + 1] as string]);
  return fields;
}

function table(decoder: HpackDecoder): Field[] {
  const entries: Field[] = [];
  for (let i = 1; i <= decoder.tableLength; i++) entries.push(decoder.dynamicEntry(i) as Field);
  return entries;
}

function problemOf(hex: string, decoder = new HpackDecoder()): string | undefined {
  const block = Buffer.from(hex, 'hex');
  return decoder.decode(block, 0, block.length, []);
}

/** A straightforward Huffman encoder from the RFC table, to test the decoder against. */
function encodeHuffman(bytes: Uint8Array): Buffer {
  const out: number[] = [];
  let bits = 0;
  let pending = 0;
  for (const byte of bytes) {
    const code = HUFFMAN_CODES[byte] as number;
    const length = HUFFMAN_LENGTHS[byte] as number;
    for (let bit = length - 1; bit >= 0; bit--) {
      pending = (pending << 1) | ((code >>> bit) & 1);
      if (++bits === 8) {
        out.push(pending);
        pending = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push((pending << (8 - bits)) | ((1 << (8 - bits)) - 1)); // pad with EOS's leading ones
  return Buffer.from(out);
}

const request1: Field[] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
];
const request2: Field[] = [...request1, ['cache-control', 'no-cache']];
const request3: Field[] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
];
const response1: Field[] = [
  [':status', '302'],
  ['cache-control', 'private'],
  ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
  ['location', 'https://www.example.com'],
];
const response2: Field[] = [[':status', '307'], ...response1.slice(1)];
const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const response3: Field[] = [
  [':status', '200'],
  ['cache-control', 'private'],
  ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
  ['location', 'https://www.example.com'],
  ['content-encoding', 'gzip'],
  ['set-cookie', cookie],
];

describe('HPACK decoder: RFC 7541 Appendix C', () => {
  it('C.2: literal with and without indexing, never indexed, indexed', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decode(decoder, '400a637573746f6d2d6b65790d637573746f6d2d686561646572'), [['custom-key', 'custom-header']]);
    assert.deepEqual(table(decoder), [['custom-key', 'custom-header']]);
    assert.equal(decoder.tableBytes, 55);
    const fresh = new HpackDecoder();
    assert.deepEqual(decode(fresh, '040c2f73616d706c652f70617468'), [[':path', '/sample/path']]);
    assert.deepEqual(decode(fresh, '100870617373776f726406736563726574'), [['password', 'secret']]);
    assert.deepEqual(decode(fresh, '82'), [[':method', 'GET']]);
    assert.equal(fresh.tableLength, 0);
  });

  it('C.3: three requests without Huffman, sharing the dynamic table', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decode(decoder, '828684410f7777772e6578616d706c652e636f6d'), request1);
    assert.deepEqual(table(decoder), [[':authority', 'www.example.com']]);
    assert.equal(decoder.tableBytes, 57);
    assert.deepEqual(decode(decoder, '828684be58086e6f2d6361636865'), request2);
    assert.deepEqual(table(decoder), [['cache-control', 'no-cache'], [':authority', 'www.example.com']]);
    assert.equal(decoder.tableBytes, 110);
    assert.deepEqual(decode(decoder, '828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565'), request3);
    assert.deepEqual(table(decoder), [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']]);
    assert.equal(decoder.tableBytes, 164);
  });

  it('C.4: the same requests with Huffman coding', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decode(decoder, '828684418cf1e3c2e5f23a6ba0ab90f4ff'), request1);
    assert.equal(decoder.tableBytes, 57);
    assert.deepEqual(decode(decoder, '828684be5886a8eb10649cbf'), request2);
    assert.equal(decoder.tableBytes, 110);
    assert.deepEqual(decode(decoder, '828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'), request3);
    assert.deepEqual(table(decoder), [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']]);
    assert.equal(decoder.tableBytes, 164);
  });

  it('C.5: three responses without Huffman in a 256-octet table (evictions)', () => {
    const decoder = new HpackDecoder(256);
    assert.deepEqual(
      decode(
        decoder,
        '4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d',
      ),
      response1,
    );
    assert.deepEqual(table(decoder), [
      ['location', 'https://www.example.com'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['cache-control', 'private'],
      [':status', '302'],
    ]);
    assert.equal(decoder.tableBytes, 222);
    assert.deepEqual(decode(decoder, '4803333037c1c0bf'), response2);
    assert.deepEqual(table(decoder), [
      [':status', '307'],
      ['location', 'https://www.example.com'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['cache-control', 'private'],
    ]);
    assert.equal(decoder.tableBytes, 222);
    assert.deepEqual(
      decode(
        decoder,
        '88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31',
      ),
      response3,
    );
    assert.deepEqual(table(decoder), [
      ['set-cookie', cookie],
      ['content-encoding', 'gzip'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
    ]);
    assert.equal(decoder.tableBytes, 215);
  });

  it('C.6: the same responses with Huffman coding', () => {
    const decoder = new HpackDecoder(256);
    assert.deepEqual(
      decode(decoder, '488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3'),
      response1,
    );
    assert.equal(decoder.tableBytes, 222);
    assert.deepEqual(decode(decoder, '4883640effc1c0bf'), response2);
    assert.equal(decoder.tableBytes, 222);
    assert.deepEqual(
      decode(
        decoder,
        '88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007',
      ),
      response3,
    );
    assert.deepEqual(table(decoder), [
      ['set-cookie', cookie],
      ['content-encoding', 'gzip'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
    ]);
    assert.equal(decoder.tableBytes, 215);
  });
});

describe('HPACK Huffman code', () => {
  it('the table is a complete prefix code: Kraft sum exactly 1 over 257 symbols', () => {
    assert.equal(HUFFMAN_CODES.length, 257);
    assert.equal(HUFFMAN_LENGTHS.length, 257);
    // lengths are 5–30 bits: sum 2^(30 - length) must be 2^30 exactly
    let sum = 0;
    for (const length of HUFFMAN_LENGTHS) sum += 2 ** (30 - length);
    assert.equal(sum, 2 ** 30);
  });

  it('decodes every octet, alone and in one long string', () => {
    for (let byte = 0; byte < 256; byte++) {
      const encoded = encodeHuffman(Uint8Array.of(byte));
      assert.equal(decodeHuffman(encoded, 0, encoded.length), String.fromCharCode(byte), `octet ${byte}`);
    }
    const all = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7) % 256);
    const encoded = encodeHuffman(all);
    assert.equal(decodeHuffman(encoded, 0, encoded.length), Buffer.from(all).toString('latin1'));
  });

  it('rejects padding that is not the EOS prefix, 8 or more padding bits, and an encoded EOS', () => {
    // 'a' is 00011 (5 bits): padding 000 instead of 111
    assert.equal(decodeHuffman(Buffer.from([0b00011000]), 0, 1), undefined);
    assert.equal(decodeHuffman(Buffer.from([0b00011111]), 0, 1), 'a');
    // a whole octet of ones after a complete symbol is padding of 8 bits
    assert.equal(decodeHuffman(Buffer.from([0b00011111, 0xff]), 0, 2), undefined);
    // EOS (30 ones) inside the string
    assert.equal(decodeHuffman(Buffer.from([0xff, 0xff, 0xff, 0xfc]), 0, 4), undefined);
  });
});

describe('HPACK decoder: malformed blocks', () => {
  it('names what is wrong instead of throwing', () => {
    assert.match(problemOf('80') ?? '', /index 0/);
    assert.match(problemOf('be') ?? '', /out of range/); // dynamic index 62 of an empty table
    assert.match(problemOf('7f') ?? '', /truncated/); // a literal whose name index needs more bytes
    assert.match(problemOf('400a6375') ?? '', /bad name/); // name string shorter than its length
    assert.match(problemOf('3fe21f') ?? '', /above the advertised/); // size update to 31 + 98 + 31×128 = 4097
    assert.match(problemOf('8220') ?? '', /after a header field/);
    assert.match(problemOf('ffffffffffff7f') ?? '', /oversized/);
  });

  it('a size update shrinks the table, evicting the oldest entries', () => {
    const decoder = new HpackDecoder();
    decode(decoder, '828684410f7777772e6578616d706c652e636f6d'); // 57 octets
    decode(decoder, '828684be58086e6f2d6361636865'); // 110
    assert.equal(decoder.tableLength, 2);
    decode(decoder, '3f1a82'); // size update to 57 (31 + 26), then :method GET
    assert.deepEqual(table(decoder), [['cache-control', 'no-cache']]);
    assert.equal(decoder.tableBytes, 53);
  });
});

describe('HPACK request encoder', () => {
  it('writes the fixed request fields, the path and metadata as literals the decoder reads back', () => {
    const prefix = requestPrefix('http', '127.0.0.1:50051');
    const writer = new HeaderBlockWriter();
    writer.raw(prefix.pseudo);
    writer.raw(pathField('/pkg.Service/Method'));
    writer.raw(prefix.regular);
    const long = 'v'.repeat(20_000); // a length needing a three-octet integer
    writer.newName('grpc-timeout', '999m');
    writer.newName('x-long', long);
    const block = writer.block();
    const decoder = new HpackDecoder();
    const out: string[] = [];
    assert.equal(decoder.decode(block, 0, block.length, out), undefined);
    assert.deepEqual(out, [
      ':method', 'POST',
      ':scheme', 'http',
      ':authority', '127.0.0.1:50051',
      ':path', '/pkg.Service/Method',
      'content-type', 'application/grpc',
      'te', 'trailers',
      'grpc-timeout', '999m',
      'x-long', long,
    ]);
    assert.equal(decoder.tableLength, 0, 'literals without indexing leave the table alone');
    assert.equal(requestPrefix('https', 'h:1').pseudo[1], 0x87);
  });

  it('encodes string lengths across the integer boundaries (RFC 7541 §5.1)', () => {
    // lengths have a 7-bit prefix: 127 needs a second octet, 127 + 2^14 a third
    for (const length of [126, 127, 128, 255, 16_510, 16_511]) {
      const writer = new HeaderBlockWriter();
      writer.newName('x', 'a'.repeat(length));
      const out: string[] = [];
      const block = writer.block();
      assert.equal(new HpackDecoder().decode(block, 0, block.length, out), undefined, String(length));
      assert.equal(out[1]?.length, length);
    }
  });
});
