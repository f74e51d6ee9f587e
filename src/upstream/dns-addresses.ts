// The addresses of a `dns: "name:port"` upstream: the name is looked up (every A/AAAA record, as
// the system resolver returns them, /etc/hosts included) when the gateway starts and again every
// refresh interval; each answer replaces the balancer's address set (balancer.ts keeps the
// transports of addresses that stay). A failed or empty lookup keeps the last good set.
import { lookup } from 'node:dns/promises';
import { isIPv6 } from 'node:net';

/** Every IP address of `host`. */
export type ResolveHost = (host: string) => Promise<string[]>;

/** The system resolver (getaddrinfo), all families. */
export const resolveWithSystem: ResolveHost = async (host) => (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

export interface DnsWatch {
  /** Settles after the first lookup (whatever its outcome). */
  readonly first: Promise<void>;
  stop(): void;
}

/** Splits 'name:port' ('[v6]:port' too). */
export function splitHostPort(hostPort: string): { host: string; port: string } {
  const at = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, at);
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port: hostPort.slice(at + 1) };
}

/** 'host:port' of an IP, bracketing IPv6. */
export function joinHostPort(ip: string, port: string): string {
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Looks `hostPort`'s name up now and every `refreshMs`, handing sorted 'ip:port' lists to `onAddresses`. */
export function watchDns(
  hostPort: string,
  refreshMs: number,
  onAddresses: (addresses: string[]) => void,
  onError: (message: string) => void,
  resolve: ResolveHost = resolveWithSystem,
): DnsWatch {
  const { host, port } = splitHostPort(hostPort);
  let stopped = false;
  const once = async (): Promise<void> => {
    try {
      const ips = await resolve(host);
      if (stopped) return;
      if (ips.length === 0) onError(`${host}: no addresses; keeping the last ones`);
      else onAddresses([...new Set(ips)].sort().map((ip) => joinHostPort(ip, port)));
    } catch (error) {
      if (!stopped) onError(`${host}: ${(error as NodeJS.ErrnoException).code ?? String(error)}; keeping the last addresses`);
    }
  };
  const first = once();
  const timer = setInterval(() => void once(), refreshMs);
  timer.unref();
  return {
    first,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
