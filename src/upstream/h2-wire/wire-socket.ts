// The socket under a wire connection: plain TCP for h2c, or TLS with ALPN h2 (the connection
// checks on 'secureConnect' that h2 was picked). Nagle is off either way: a batch of frames is
// already one write per event-loop turn, and a call must not wait for an ACK to go out.
import net from 'node:net';
import tls from 'node:tls';
import { http2TlsOptions, type UpstreamTls } from '../upstream-tls.js';

/** Opens the connection's socket; with `upstreamTls`, TLS (emits 'secureConnect'), else TCP ('connect'). */
export function connectSocket(host: string, port: number, upstreamTls: UpstreamTls | undefined): net.Socket {
  if (upstreamTls === undefined) return net.connect({ host, port, noDelay: true });
  return connectTls(host, port, upstreamTls);
}

/** A TLS socket with ALPN h2 and the upstream's certificates, verified as the node:http2 transport verifies them. */
function connectTls(host: string, port: number, upstreamTls: UpstreamTls): tls.TLSSocket {
  const socket = tls.connect({
    ...http2TlsOptions(upstreamTls),
    host,
    port,
    // SNI and the name checked: serverName, else the host when it is a name (an IP address is not sent as SNI)
    ...(upstreamTls.serverName === undefined && net.isIP(host) === 0 ? { servername: host } : {}),
  });
  socket.setNoDelay(true);
  return socket;
}
