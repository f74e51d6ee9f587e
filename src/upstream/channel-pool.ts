// A pool of grpc-js channels to one upstream address: each channel is its own HTTP/2 connection,
// calls go round-robin over them, and the pool reports the best connectivity among them.
//
// Limits: a response larger than maxReceiveMessageBytes ends as RESOURCE_EXHAUSTED (grpc-js's own
// check, before the message is buffered). That is our limit, not the client's fault, so the
// pipeline maps it to a 5xx rather than 429; `exceededLocalLimit` (unary-call.ts) tells it apart
// from an upstream's own RESOURCE_EXHAUSTED.
import { Client, connectivityState, credentials, type ChannelOptions } from '@grpc/grpc-js';
import { Code } from '../errors/codes.js';
import { invokeUnary, localFailure, type UnaryCallLimits } from './unary-call.js';
import { invokeBidiStream } from './bidi-stream-call.js';
import { failedBidiStream, failedClientStream } from './client-stream.js';
import { invokeClientStream } from './client-stream-call.js';
import { invokeServerStream } from './server-stream-call.js';
import { ServerStreamQueue } from './server-stream.js';
import type { BidiStreamCall, ClientStreamCall, ServerStreamCall, TransportState, UnaryRequest, UnaryResult, UpstreamTransport } from './transport.js';
import type { UpstreamTls } from './upstream-tls.js';

/** How to reach one upstream and how much to accept from it. */
export interface ChannelPoolOptions {
  /** host:port */
  target: string;
  /** channels (separate connections), default 2 */
  size?: number;
  /** default 4 MiB, as gRPC's */
  maxReceiveMessageBytes?: number;
  /** default 4 MiB */
  maxSendMessageBytes?: number;
  /** HTTP/2 PING interval on idle connections; off by default */
  keepaliveMs?: number;
  /** TLS (mTLS with a client certificate); absent: plaintext */
  tls?: UpstreamTls;
}

/** A grpc-js transport with its connectivity exposed for readiness checks. */
export interface ChannelPool extends UpstreamTransport {
  readonly target: string;
  /** The best state among the pool's channels ('ready' if any is ready). */
  state(): TransportState;
}

const DEFAULT_POOL_SIZE = 2;
const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

// Best first: a pool is as ready as its readiest channel.
const statesByRank: readonly TransportState[] = ['ready', 'connecting', 'idle', 'transient-failure', 'shutdown'];
const stateNames: Readonly<Record<connectivityState, TransportState>> = {
  [connectivityState.IDLE]: 'idle',
  [connectivityState.CONNECTING]: 'connecting',
  [connectivityState.READY]: 'ready',
  [connectivityState.TRANSIENT_FAILURE]: 'transient-failure',
  [connectivityState.SHUTDOWN]: 'shutdown',
};

/**
 * A pool of grpc-js channels (separate connections via `grpc.use_local_subchannel_pool`),
 * round-robin, `makeUnaryRequest` / `makeServerStreamRequest` / `makeClientStreamRequest` with identity
 * serializers (Buffers in and out).
 * Calls fail fast (UNAVAILABLE) when nothing listens: grpc-js's waitForReady stays false.
 */
export function createGrpcJsTransport(options: ChannelPoolOptions): ChannelPool {
  const size = options.size ?? DEFAULT_POOL_SIZE;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`ChannelPool size must be a positive integer, got ${size}`);
  const maxSendMessageBytes = options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const channelOptions: ChannelOptions = {
    // Without a local subchannel pool, grpc-js would share one connection among all channels.
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': maxSendMessageBytes,
    ...(options.keepaliveMs === undefined
      ? {}
      : {
          'grpc.keepalive_time_ms': options.keepaliveMs,
          // as the node:http2 transport: a PING unanswered for one interval ends the connection
          'grpc.keepalive_timeout_ms': options.keepaliveMs,
          'grpc.keepalive_permit_without_calls': 1,
        }),
  };
  const tls = options.tls;
  if (tls?.serverName !== undefined) {
    // the name checked against the certificate and sent as SNI and :authority
    channelOptions['grpc.ssl_target_name_override'] = tls.serverName;
    channelOptions['grpc.default_authority'] = tls.serverName;
  }
  const channelCredentials = tls === undefined ? credentials.createInsecure() : credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
  const clients: Client[] = [];
  for (let i = 0; i < size; i++) clients.push(new Client(options.target, channelCredentials, channelOptions));
  const limits: UnaryCallLimits = { maxSendMessageBytes };
  const target = options.target;

  let next = 0;
  let inFlight = 0;
  let closed = false;
  let drained: (() => void) | undefined;

  function settle<T>(result: T): T {
    inFlight--;
    if (inFlight === 0 && drained !== undefined) drained();
    return result;
  }

  return {
    target,
    unary(request: UnaryRequest): Promise<UnaryResult> {
      if (closed) return Promise.resolve(localFailure(Code.UNAVAILABLE, 'Upstream transport is closed', `${target}: transport closed`));
      const client = clients[next] as Client;
      next = next + 1 === clients.length ? 0 : next + 1;
      inFlight++;
      return invokeUnary(client, target, limits, request).then(settle);
    },
    clientStream(request: UnaryRequest): ClientStreamCall {
      if (closed) return failedClientStream(localFailure(Code.UNAVAILABLE, 'Upstream transport is closed', `${target}: transport closed`));
      const client = clients[next] as Client;
      next = next + 1 === clients.length ? 0 : next + 1;
      inFlight++;
      return invokeClientStream(client, target, limits, request, () => settle(undefined));
    },
    bidiStream(request: UnaryRequest): BidiStreamCall {
      if (closed) return failedBidiStream(localFailure(Code.UNAVAILABLE, 'Upstream transport is closed', `${target}: transport closed`));
      const client = clients[next] as Client;
      next = next + 1 === clients.length ? 0 : next + 1;
      inFlight++;
      return invokeBidiStream(client, target, limits, request, () => settle(undefined));
    },
    serverStream(request: UnaryRequest): ServerStreamCall {
      if (closed) return ServerStreamQueue.failed(localFailure(Code.UNAVAILABLE, 'Upstream transport is closed', `${target}: transport closed`));
      const client = clients[next] as Client;
      next = next + 1 === clients.length ? 0 : next + 1;
      inFlight++;
      return invokeServerStream(client, target, limits, request, () => settle(undefined));
    },
    state(): TransportState {
      let best = statesByRank.length - 1;
      for (const client of clients) {
        const rank = statesByRank.indexOf(stateNames[client.getChannel().getConnectivityState(false)]);
        if (rank < best) best = rank;
      }
      return statesByRank[best] as TransportState;
    },
    close(): Promise<void> {
      if (!closed) {
        closed = true;
        // grpc-js lets calls already started on a closed channel run to completion (or deadline).
        for (const client of clients) client.close();
      }
      if (inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const previous = drained;
        drained = () => {
          previous?.();
          resolve();
        };
      });
    },
  };
}
