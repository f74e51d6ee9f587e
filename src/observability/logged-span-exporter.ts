// The OTLP exporter, reporting failed exports in the gateway's log: the SDK's own reports go to
// its process-wide diag logger, which is silent unless someone installs one.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';

/** How often failing exports are reported (the spans lost meanwhile are counted). */
const FAILURE_LOG_INTERVAL_MS = 10_000;

/** `exporter`, with each failed batch counted and reported at most every 10 s as a warning. */
export function loggedSpanExporter(exporter: SpanExporter, endpoint: string, logger: Logger): SpanExporter {
  let lastReport = -Infinity;
  let lostSpans = 0;
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) {
          lostSpans += spans.length;
          const now = performance.now();
          if (now - lastReport >= FAILURE_LOG_INTERVAL_MS) {
            lastReport = now;
            logger.warn({ endpoint, lostSpans, err: result.error }, 'tracing: spans could not be exported');
            lostSpans = 0;
          }
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}
