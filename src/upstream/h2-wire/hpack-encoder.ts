// The request half of HPACK (RFC 7541): header blocks for gRPC requests. Every field is a
// "literal without indexing" (§6.2.2) with a raw (not Huffman) string, so the encoder keeps no
// dynamic table and needs no state shared with the server's decoder: the fixed request headers
// are encoded once per connection (`requestPrefix`) and once per path (`pathField`), and a call
// only adds its grpc-timeout and metadata. Raw strings cost a few more bytes on loopback than
// Huffman would, and no CPU.
import { StaticIndex } from './hpack-static-table.js';

/** Appends HPACK fields to a reusable buffer; `block()` is valid until the next `reset()`. */
export class HeaderBlockWriter {
  #buffer = Buffer.allocUnsafe(1024);
  #length = 0;

  reset(): void {
    this.#length = 0;
  }

  /** Already-encoded fields (a prefix or a cached path). */
  raw(bytes: Buffer): void {
    this.#reserve(bytes.length);
    bytes.copy(this.#buffer, this.#length);
    this.#length += bytes.length;
  }

  /** A literal whose name is static table entry `nameIndex`. */
  indexedName(nameIndex: number, value: string): void {
    this.#reserve(2 + 5 + value.length);
    this.#integer(nameIndex, 4, 0x00); // 0000xxxx: without indexing, 4-bit name index
    this.#string(value);
  }

  /** A literal with its name spelled out (names must be lower-case ASCII already). */
  newName(name: string, value: string): void {
    this.#reserve(1 + 10 + name.length + value.length);
    this.#buffer[this.#length++] = 0x00;
    this.#string(name);
    this.#string(value);
  }

  /** The block written since `reset()`. */
  block(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  #string(value: string): void {
    this.#integer(value.length, 7, 0x00); // H = 0: raw octets
    this.#length += this.#buffer.write(value, this.#length, 'latin1');
  }

  /** §5.1 integer with an N-bit prefix; `flags` are the bits above the prefix. */
  #integer(value: number, prefixBits: number, flags: number): void {
    const max = (1 << prefixBits) - 1;
    const buffer = this.#buffer;
    if (value < max) {
      buffer[this.#length++] = flags | value;
      return;
    }
    buffer[this.#length++] = flags | max;
    value -= max;
    while (value >= 0x80) {
      buffer[this.#length++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buffer[this.#length++] = value;
  }

  #reserve(bytes: number): void {
    if (this.#length + bytes <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + bytes));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}

/**
 * The fixed fields of every gRPC request on a connection (PROTOCOL-HTTP2.md "Requests"), in two
 * parts because pseudo-headers must precede the others (RFC 9113 §8.3) and `:path` goes between:
 * `pseudo` is :method POST and :scheme (static table) and :authority; `regular` is content-type
 * and te: trailers.
 */
export function requestPrefix(scheme: 'http' | 'https', authority: string): { pseudo: Buffer; regular: Buffer } {
  const writer = new HeaderBlockWriter();
  writer.raw(Buffer.from([0x80 | StaticIndex.METHOD_POST, 0x80 | (scheme === 'http' ? StaticIndex.SCHEME_HTTP : StaticIndex.SCHEME_HTTPS)]));
  writer.indexedName(StaticIndex.AUTHORITY, authority);
  const pseudo = Buffer.from(writer.block());
  writer.reset();
  writer.indexedName(StaticIndex.CONTENT_TYPE, 'application/grpc');
  writer.newName('te', 'trailers');
  return { pseudo, regular: Buffer.from(writer.block()) };
}

/** The `:path` field for one method, encoded once and reused for every call to it. */
export function pathField(path: string): Buffer {
  const writer = new HeaderBlockWriter();
  writer.indexedName(StaticIndex.PATH, path);
  return Buffer.from(writer.block());
}
