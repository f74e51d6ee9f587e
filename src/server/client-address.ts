// The client's address for a request (`GatewayRequest.clientIp`): the socket peer, unless the
// peer is one of `server.trustedProxies`, in which case it comes from `X-Forwarded-For`.
import { compileIpRanges, parseIp, type IpRanges } from '../policy/ip-ranges.js';

/** Picks the client address from the socket peer and the X-Forwarded-For header. */
export type ClientAddressResolver = (peer: string, forwardedFor: string | string[] | undefined) => string;

/** Hops examined at most: a header of thousands of forged trusted-looking entries costs no more. */
const MAX_HOPS = 32;

/**
 * Compiles `server.trustedProxies`; `undefined` when the list is empty (the adapter then uses
 * the socket peer and never reads the header).
 *
 * Why the rightmost untrusted entry: every proxy appends the address it received the request
 * from, so the header reads `client, proxy1, proxy2`, but anything left of the hop our own
 * proxies appended was written by whoever sent the request and can be forged. Walking from the
 * right, the first entry that is not one of our proxies is the address our outermost proxy saw
 * — the last one written by a party we trust. Taking the leftmost entry (as some frameworks do)
 * would let any client choose its own address, and with it its rate-limit bucket and IP-list
 * verdict.
 */
export function createClientAddressResolver(trustedProxies: readonly string[]): ClientAddressResolver | undefined {
  if (trustedProxies.length === 0) return undefined;
  const trusted = compileIpRanges(trustedProxies);
  return (peer, forwardedFor) => {
    if (forwardedFor === undefined) return peer;
    const peerAddress = parseIp(peer);
    if (peerAddress === undefined || !trusted.contains(peerAddress)) return peer;
    // Node joins repeated X-Forwarded-For headers with ", "; an array only comes from other adapters.
    return rightmostUntrusted(Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor, peer, trusted);
  };
}

/**
 * Walks the header from the right while the hops are trusted proxies. A malformed entry ends
 * the walk at the last good hop (a trusted proxy): what lies left of it was never vouched for,
 * and skipping over it would hand the choice to the client.
 */
function rightmostUntrusted(header: string, peer: string, trusted: IpRanges): string {
  let client = peer;
  let end = header.length;
  for (let hops = 0; hops < MAX_HOPS && end > 0; hops++) {
    const start = header.lastIndexOf(',', end - 1) + 1;
    const address = parseIp(withoutPort(header.slice(start, end).trim()));
    if (address === undefined) return client;
    client = address.toString();
    if (!trusted.contains(address)) return client;
    end = start - 1;
  }
  return client;
}

/** `[2001:db8::1]:443` → `2001:db8::1`, `192.0.2.1:80` → `192.0.2.1`; other text unchanged. */
function withoutPort(entry: string): string {
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    return close > 0 && isPortSuffix(entry, close + 1) ? entry.slice(1, close) : entry;
  }
  const colon = entry.indexOf(':');
  return colon > 0 && entry.indexOf(':', colon + 1) < 0 && isPortSuffix(entry, colon) ? entry.slice(0, colon) : entry;
}

/** Nothing, or `:` and digits, from `at` to the end. */
function isPortSuffix(entry: string, at: number): boolean {
  if (at === entry.length) return true;
  if (entry.charCodeAt(at) !== 0x3a || at + 1 === entry.length) return false;
  for (let i = at + 1; i < entry.length; i++) {
    const c = entry.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
