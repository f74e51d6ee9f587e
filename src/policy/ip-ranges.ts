// IP addresses and CIDR ranges as the IP filter (ip-filter.ts) and the trusted-proxy setting
// (server/client-address.ts) read them: parsed once at startup, matched per request without
// allocating. IPv4-mapped IPv6 (`::ffff:10.1.2.3`, what a dual-stack socket reports for an IPv4
// peer) is the IPv4 address it carries, so one IPv4 range covers both spellings.
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** A parsed address; IPv4-mapped IPv6 addresses are already converted to IPv4. */
export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/** A set of CIDR ranges. */
export interface IpRanges {
  readonly size: number;
  contains(address: IpAddress): boolean;
}

/**
 * Parses one address. Only the strict forms count (dotted-quad IPv4 as Node's `net.isIP`
 * accepts it, or IPv6): ipaddr.js alone would also read `127.1` or `2130706433` as 127.0.0.1,
 * spellings no proxy writes and a list should not have to anticipate.
 */
export function parseIp(text: string): IpAddress | undefined {
  if (isIP(text) === 0) return undefined;
  return unmapped(ipaddr.parse(text));
}

function unmapped(address: IpAddress): IpAddress {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
}

/** A range: the network address and its prefix length. */
type Range = readonly [IpAddress, number];

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (one host); a message on failure. */
export function parseIpRange(text: string): Range | string {
  const slash = text.indexOf('/');
  const address = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (address === undefined) return 'must be an IP address or CIDR range, e.g. "10.0.0.0/8", "192.168.1.7" or "2001:db8::/32"';
  const mapped = address.kind() === 'ipv4' && slash >= 0 && isIP(text.slice(0, slash)) === 6;
  const width = address.kind() === 'ipv4' ? 32 : 128;
  if (slash < 0) return [address, width];
  const prefixText = text.slice(slash + 1);
  let bits = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  // `::ffff:10.0.0.0/104` is the IPv4 range 10.0.0.0/8.
  if (mapped) bits = bits >= 96 ? bits - 96 : NaN;
  if (!(bits >= 0 && bits <= width)) return `has a bad prefix length; use ${mapped ? '/96 to /128 for an IPv4-mapped range' : `/0 to /${width}`}`;
  const network = networkOf(address, bits);
  if (network.toString() !== address.toString()) {
    return `has bits set after the /${bits} prefix; write the network address, e.g. "${network.toString()}/${bits}"`;
  }
  return [address, bits];
}

function networkOf(address: IpAddress, bits: number): IpAddress {
  const bytes = address.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  return ipaddr.fromByteArray(bytes);
}

/** Compiles a list the config schema has validated (throws on an invalid entry). */
export function compileIpRanges(texts: readonly string[]): IpRanges {
  // IPv4 ranges as (network, mask) pairs of unsigned 32-bit integers: a match is one AND.
  const v4: number[] = [];
  const v6: Array<[ipaddr.IPv6, number]> = [];
  for (const text of texts) {
    const range = parseIpRange(text);
    if (typeof range === 'string') throw new Error(`"${text}" ${range}`);
    const [address, bits] = range;
    if (address.kind() === 'ipv4') {
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      v4.push((ipv4Number(address as ipaddr.IPv4) & mask) >>> 0, mask);
    } else {
      v6.push([address as ipaddr.IPv6, bits]);
    }
  }
  return {
    size: texts.length,
    contains(address) {
      if (address.kind() === 'ipv4') {
        const n = ipv4Number(address as ipaddr.IPv4);
        for (let i = 0; i < v4.length; i += 2) if ((n & v4[i + 1]!) >>> 0 === v4[i]) return true;
        return false;
      }
      for (const range of v6) if ((address as ipaddr.IPv6).match(range)) return true;
      return false;
    },
  };
}

function ipv4Number(address: ipaddr.IPv4): number {
  const [a, b, c, d] = address.octets as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}
