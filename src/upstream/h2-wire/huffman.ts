// HPACK Huffman decoding (RFC 7541 §5.2, code in Appendix B). Servers Huffman-encode most
// header strings the first time they send them (Go's hpack does whenever it is shorter), so the
// response decoder needs this; requests are sent as raw strings and never need the encoder.
//
// The decoder is a table-driven state machine over 4-bit nibbles (as nghttp2's): a state is an
// inner node of the code tree, and each (state, nibble) entry says the next state and the symbol
// completed on the way, if any. The shortest code is 5 bits, so one nibble completes at most one
// symbol. Built once at module load from the RFC's table (~4k entries).
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from './huffman-table.js';

const EOS = 256;
const NO_SYMBOL = -1;
const FAILED = 0xffff;

interface Tree {
  zero: number[];
  one: number[];
  /** symbol at a leaf, NO_SYMBOL at an inner node */
  symbol: number[];
}

function buildTree(): Tree {
  const tree: Tree = { zero: [0], one: [0], symbol: [NO_SYMBOL] };
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const code = HUFFMAN_CODES[symbol] as number;
    const length = HUFFMAN_LENGTHS[symbol] as number;
    let node = 0;
    for (let bit = length - 1; bit >= 0; bit--) {
      const branch = (code >>> bit) & 1 ? tree.one : tree.zero;
      let child = branch[node] as number;
      if (child === 0) {
        child = tree.symbol.length;
        tree.zero.push(0);
        tree.one.push(0);
        tree.symbol.push(NO_SYMBOL);
        branch[node] = child;
      }
      node = child;
    }
    tree.symbol[node] = symbol;
  }
  return tree;
}

/** state × nibble → next state (FAILED when EOS would be decoded: §5.2 makes that an error) */
let nextState: Uint16Array;
/** state × nibble → completed symbol or NO_SYMBOL */
let emitted: Int16Array;
/** per state: may the string end here (§5.2: padding is < 8 bits of the EOS prefix, all ones) */
let accepting: Uint8Array;

function buildMachine(): void {
  const tree = buildTree();
  // number the inner nodes: they are the states; the root is state 0
  const stateOf = new Map<number, number>();
  const inner: number[] = [];
  for (let node = 0; node < tree.symbol.length; node++) {
    if (tree.symbol[node] === NO_SYMBOL) {
      stateOf.set(node, inner.length);
      inner.push(node);
    }
  }
  nextState = new Uint16Array(inner.length * 16);
  emitted = new Int16Array(inner.length * 16).fill(NO_SYMBOL);
  accepting = new Uint8Array(inner.length);
  // an inner node reached from the root by 0–7 one-bits is valid padding
  for (let node = 0, depth = 0; depth <= 7; depth++) {
    accepting[stateOf.get(node) as number] = 1;
    node = tree.one[node] as number;
  }
  for (let state = 0; state < inner.length; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = inner[state] as number;
      let failed = false;
      for (let bit = 3; bit >= 0; bit--) {
        node = ((nibble >>> bit) & 1 ? tree.one[node] : tree.zero[node]) as number;
        const symbol = tree.symbol[node] as number;
        if (symbol === NO_SYMBOL) continue;
        if (symbol === EOS) failed = true;
        emitted[state * 16 + nibble] = symbol;
        node = 0;
      }
      nextState[state * 16 + nibble] = failed ? FAILED : (stateOf.get(node) as number);
    }
  }
}
buildMachine();

let scratch = Buffer.allocUnsafe(256);

/**
 * Decodes the Huffman-coded octets `bytes[start, end)` to a latin1 string (header values are
 * octets), or undefined when they are not a valid encoding (EOS inside, padding longer than
 * 7 bits or not all ones).
 */
export function decodeHuffman(bytes: Uint8Array, start: number, end: number): string | undefined {
  // the shortest code is 5 bits: at most 8/5 output octets per input octet
  const capacity = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < capacity) scratch = Buffer.allocUnsafe(Math.max(capacity, scratch.length * 2));
  const out = scratch;
  let length = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number;
    let entry = state * 16 + (byte >>> 4);
    state = nextState[entry] as number;
    if (state === FAILED) return undefined;
    let symbol = emitted[entry] as number;
    if (symbol !== NO_SYMBOL) out[length++] = symbol;
    entry = state * 16 + (byte & 0x0f);
    state = nextState[entry] as number;
    if (state === FAILED) return undefined;
    symbol = emitted[entry] as number;
    if (symbol !== NO_SYMBOL) out[length++] = symbol;
  }
  if (accepting[state] !== 1) return undefined;
  return out.toString('latin1', 0, length);
}
