// The reading half of NDJSON (stream-writer.ts writes it): a request body that arrives in
// chunks, cut into lines as the chunks come, so a client-streaming call can forward each message
// while the rest of the body is still on the wire. A line may span chunks, a chunk may hold many.

const NEWLINE = 0x0a;

/**
 * The lines of `chunks`, without their '\n' (a '\r' before it stays: JSON reads it as
 * whitespace). The last line needs no newline; an empty body has no lines. A line within one
 * chunk is a view of it, a line across chunks is joined once. The next chunk is pulled only when
 * the consumer asks for the next line, so a slow consumer slows the reading.
 */
export async function* ndjsonLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  // the start of a line whose newline has not come yet
  let pieces: Uint8Array[] = [];
  let pieceBytes = 0;
  for await (const chunk of chunks) {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end >= 0; end = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, end);
      start = end + 1;
      if (pieces.length === 0) {
        yield piece;
      } else {
        pieces.push(piece);
        const line = Buffer.concat(pieces, pieceBytes + piece.byteLength);
        pieces = [];
        pieceBytes = 0;
        yield line;
      }
    }
    if (start < chunk.byteLength) {
      pieces.push(chunk.subarray(start));
      pieceBytes += chunk.byteLength - start;
    }
  }
  if (pieces.length > 0) yield Buffer.concat(pieces, pieceBytes);
}

/** Only spaces, tabs and line ends: a line to skip. */
export function isBlankLine(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== NEWLINE) return false;
  return true;
}
