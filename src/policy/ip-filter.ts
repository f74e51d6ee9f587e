// The IP filter (config key `ipFilter`): refuses clients by address before routing, so a
// refused client costs no route match, no body decoding and no upstream call. The address is
// the request's `clientIp` (the socket peer, or the X-Forwarded-For hop that
// `server.trustedProxies` selects). The HTTP adapter checks it only when `ipFilter` is set.
import { Code } from '../errors/codes.js';
import { gatewayError, type GatewayError } from '../errors/gateway-error.js';
import { truncate } from '../errors/user-input.js';
import { compileIpRanges, parseIp } from './ip-ranges.js';

/** The `ipFilter` config section, as validated by the config schema. */
export interface IpFilterConfig {
  /** When not empty, only these ranges are served. */
  readonly allow: readonly string[];
  /** Never served, even when `allow` lists them too. */
  readonly deny: readonly string[];
}

/** The compiled filter: `undefined` when the client may pass, else the 403 to answer. */
export type IpFilter = (clientIp: string) => GatewayError | undefined;

/** Compiles the config once, at startup. Deny wins over allow. */
export function createIpFilter(config: IpFilterConfig): IpFilter {
  const allow = config.allow.length === 0 ? undefined : compileIpRanges(config.allow);
  const deny = compileIpRanges(config.deny);
  return (clientIp) => {
    const address = parseIp(clientIp);
    // An address that cannot be read (a Unix socket, a peer already gone) matches no range:
    // refused when an allow list exists, since it cannot be shown to be on it.
    if (address === undefined) return allow === undefined ? undefined : denied(clientIp, 'is not in ipFilter.allow');
    if (deny.size > 0 && deny.contains(address)) return denied(clientIp, 'is in ipFilter.deny');
    if (allow !== undefined && !allow.contains(address)) return denied(clientIp, 'is not in ipFilter.allow');
    return undefined;
  };
}

function denied(clientIp: string, why: string): GatewayError {
  return gatewayError(Code.PERMISSION_DENIED, 'PG_IP_DENIED', `client address ${JSON.stringify(truncate(clientIp, 64))} ${why}`);
}
