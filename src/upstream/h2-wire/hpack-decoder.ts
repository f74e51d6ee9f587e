// The response half of HPACK (RFC 7541): turns the header blocks a gRPC server sends into
// name/value strings, keeping the connection's dynamic table in step with the server's encoder.
//
// Why our own rather than hpack.js (npm, 2.1.6): its decompressor is a stream API (write, execute,
// read one object per field) that allocates per field, and node:http2 keeps nghttp2's decoder
// behind its per-stream machinery. Measured on this machine (one core, blocks from hpack.js's own
// compressor, 100k blocks, 3 rounds): gRPC OK responses (:status/content-type, then
// grpc-status/grpc-message, indexed after the first) ~160–480 ns per block here against
// ~1,740–2,270 ns with hpack.js; error trailers with a different grpc-message each time (a
// Huffman literal per block) ~320–840 against ~2,600–3,500 ns. Both decoded the same 5,000 blocks
// with indexing, Huffman and evictions to the same fields. With a table of strings an indexed
// field costs an array read and no allocation, and Huffman decoding only happens the first time a
// value is seen. Strings are latin1: header values are octets and gRPC's are ASCII.
import { decodeHuffman } from './huffman.js';
import { STATIC_TABLE, STATIC_TABLE_LENGTH } from './hpack-static-table.js';

/** RFC 7541 §4.1: an entry costs its octets plus 32 */
const ENTRY_OVERHEAD = 32;
/** the table size this side allows (SETTINGS_HEADER_TABLE_SIZE default, RFC 9113 §6.5.2) */
export const DEFAULT_TABLE_BYTES = 4096;
/** integers beyond this are an attack or corruption: no length or index in a header block is this large */
const MAX_INTEGER = 2 ** 28;

/** The state of one connection's response decoding; see the file comment. */
export class HpackDecoder {
  /** dynamic entries, oldest first from `#oldest`; the newest is at the end (dynamic index 1) */
  #names: string[] = [];
  #values: string[] = [];
  #oldest = 0;
  #bytes = 0;
  #maxBytes: number;
  #pos = 0;

  /** `limitBytes`: the SETTINGS_HEADER_TABLE_SIZE this side advertised. */
  constructor(private readonly limitBytes: number = DEFAULT_TABLE_BYTES) {
    this.#maxBytes = limitBytes;
  }

  /** Entries in the dynamic table (for tests). */
  get tableLength(): number {
    return this.#names.length - this.#oldest;
  }

  /** Octets the dynamic table holds, as RFC 7541 counts them (for tests). */
  get tableBytes(): number {
    return this.#bytes;
  }

  /** Dynamic entry `index` (1 = newest) as [name, value] (for tests). */
  dynamicEntry(index: number): [string, string] | undefined {
    const at = this.#names.length - index;
    if (index < 1 || at < this.#oldest) return undefined;
    return [this.#names[at] as string, this.#values[at] as string];
  }

  /**
   * Decodes the whole header block `block[start, end)`, appending name, value, name, value… to
   * `out`. Returns undefined, or what is wrong with the block; an error leaves the table out of
   * step with the server's, so the caller must end the connection (RFC 9113 COMPRESSION_ERROR).
   */
  decode(block: Buffer, start: number, end: number, out: string[]): string | undefined {
    this.#pos = start;
    let fieldsSeen = false;
    while (this.#pos < end) {
      const first = block[this.#pos] as number;
      if (first & 0x80) {
        // §6.1 indexed header field
        const index = this.#integer(block, end, 7);
        if (index < 0) return 'truncated or oversized integer';
        if (index === 0) return 'index 0';
        const problem = this.#pushIndexed(index, out);
        if (problem !== undefined) return problem;
        fieldsSeen = true;
      } else if ((first & 0xe0) === 0x20) {
        // §6.3 dynamic table size update: only before the first field (§4.2)
        if (fieldsSeen) return 'table size update after a header field';
        const size = this.#integer(block, end, 5);
        if (size < 0) return 'truncated or oversized integer';
        if (size > this.limitBytes) return `table size ${size} above the advertised ${this.limitBytes}`;
        this.#maxBytes = size;
        this.#evictTo(size);
      } else {
        // §6.2 literals: with incremental indexing (01), without (0000), never indexed (0001)
        const indexed = (first & 0xc0) === 0x40;
        const nameIndex = this.#integer(block, end, indexed ? 6 : 4);
        if (nameIndex < 0) return 'truncated or oversized integer';
        let name: string | undefined;
        if (nameIndex === 0) {
          name = this.#string(block, end);
          if (name === undefined) return 'bad name string';
        } else {
          name = this.#nameAt(nameIndex);
          if (name === undefined) return `name index ${nameIndex} out of range`;
        }
        const value = this.#string(block, end);
        if (value === undefined) return 'bad value string';
        out.push(name, value);
        if (indexed) this.#add(name, value);
        fieldsSeen = true;
      }
    }
    return undefined;
  }

  #pushIndexed(index: number, out: string[]): string | undefined {
    if (index <= STATIC_TABLE_LENGTH) {
      const entry = STATIC_TABLE[index] as readonly [string, string];
      out.push(entry[0], entry[1]);
      return undefined;
    }
    const at = this.#names.length - (index - STATIC_TABLE_LENGTH);
    if (at < this.#oldest) return `index ${index} out of range`;
    out.push(this.#names[at] as string, this.#values[at] as string);
    return undefined;
  }

  #nameAt(index: number): string | undefined {
    if (index <= STATIC_TABLE_LENGTH) return (STATIC_TABLE[index] as readonly [string, string])[0];
    const at = this.#names.length - (index - STATIC_TABLE_LENGTH);
    return at < this.#oldest ? undefined : this.#names[at];
  }

  /** §5.1 integer with an N-bit prefix at #pos; -1 when truncated or too large. */
  #integer(block: Buffer, end: number, prefixBits: number): number {
    const mask = (1 << prefixBits) - 1;
    let value = (block[this.#pos++] as number) & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.#pos >= end) return -1;
      const byte = block[this.#pos++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (value > MAX_INTEGER) return -1;
      if ((byte & 0x80) === 0) return value;
      shift += 7;
    }
  }

  /** §5.2 string literal at #pos (raw or Huffman); undefined when malformed. */
  #string(block: Buffer, end: number): string | undefined {
    if (this.#pos >= end) return undefined;
    const huffman = ((block[this.#pos] as number) & 0x80) !== 0;
    const length = this.#integer(block, end, 7);
    if (length < 0 || this.#pos + length > end) return undefined;
    const start = this.#pos;
    this.#pos += length;
    if (huffman) return decodeHuffman(block, start, start + length);
    return block.toString('latin1', start, start + length);
  }

  /** §4.4: adding evicts the oldest entries first; an entry larger than the table empties it. */
  #add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#maxBytes) {
      this.#evictTo(0);
      return;
    }
    this.#evictTo(this.#maxBytes - size);
    this.#names.push(name);
    this.#values.push(value);
    this.#bytes += size;
  }

  #evictTo(bytes: number): void {
    while (this.#bytes > bytes) {
      const at = this.#oldest++;
      this.#bytes -= (this.#names[at] as string).length + (this.#values[at] as string).length + ENTRY_OVERHEAD;
    }
    if (this.#oldest === this.#names.length) {
      this.#names = [];
      this.#values = [];
      this.#oldest = 0;
    } else if (this.#oldest > 64) {
      // compact now and then, so evicted entries do not pile up in the arrays
      this.#names = this.#names.slice(this.#oldest);
      this.#values = this.#values.slice(this.#oldest);
      this.#oldest = 0;
    }
  }
}
