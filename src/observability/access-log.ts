// The access log: one pino line per answered request, written by a subscriber to the request
// events (request-events.ts), never by the request path itself. Route, RPC and upstream target
// are bound once per route in a child logger, so a line serialises only what varies.
// Headers are never logged, so no Authorization value or token can reach the log.
import type { Logger } from 'pino';
import type { Pipeline } from '../pipeline.js';
import type { CompiledRoute } from '../transcode/compiled-route.js';
import { NO_ROUTE } from './gateway-metrics.js';
import { subscribeRequests, type RequestEvent } from './request-events.js';

/** What the access log needs besides the events. */
export interface AccessLogOptions {
  /** The upstream target ('host:port') serving a service, if any. */
  readonly targetFor: (service: string) => string | undefined;
}

/** Starts logging `pipeline`'s requests to `logger` at info; returns the stop function. */
export function startAccessLog(pipeline: Pipeline, logger: Logger, options: AccessLogOptions): () => void {
  const byRoute = new Map<CompiledRoute, Logger>();
  for (const route of pipeline.routes) {
    const spec = route.spec;
    const upstream = options.targetFor(spec.service);
    byRoute.set(route, logger.child({ route: spec.template, rpc: spec.grpcPath, ...(upstream === undefined ? {} : { upstream }) }));
  }
  const unmatched = logger.child({ route: NO_ROUTE });
  return subscribeRequests(pipeline, {
    end(event: RequestEvent) {
      const line = (event.route === undefined ? undefined : byRoute.get(event.route)) ?? unmatched;
      line.info(
        {
          requestId: event.requestId,
          method: event.method,
          status: event.status,
          grpcCode: event.grpcCode,
          reason: event.reason,
          durationMs: Math.round(event.durationMs * 1000) / 1000,
          bytes: event.bytes,
          // undefined (left out of the line) unless the request failed with an internal detail
          cause: event.cause,
          // left out unless the answer was a kept one served while the upstream was unavailable
          stale: event.stale,
          // left out unless the answer was a configured fallback served while the upstream was out
          fallback: event.fallback,
        },
        'request',
      );
    },
  });
}
