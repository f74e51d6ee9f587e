// The process logger: pino JSON lines, or a compact human-readable line when stdout is a
// terminal. Headers are never logged; redaction is a second guard should one ever be.
import pino, { type DestinationStream, type Logger } from 'pino';

/** Logger settings from the `log` config key. */
export interface LoggerOptions {
  readonly level: string;
}

/** Paths pino blanks out if an object carrying headers or credentials is ever logged. */
export const REDACTED_PATHS = [
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'authorization',
  'token',
];

/** A pino logger writing JSON to `destination` (stdout by default; pretty lines on a TTY). */
export function createLogger(options: LoggerOptions, destination?: DestinationStream): Logger {
  const stream = destination ?? (process.stdout.isTTY ? prettyStream(process.stdout) : undefined);
  const settings = { level: options.level, base: { service: 'protogate' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return stream === undefined ? pino(settings) : pino(settings, stream);
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service']);

/** Turns pino's JSON lines into `12:00:01.234 INFO  request key=value …` for people at a terminal. */
export function prettyStream(out: { write(text: string): unknown }, colour = true): DestinationStream {
  return {
    write(line: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const level = Number(record['level']);
      const time = new Date(Number(record['time'])).toISOString().slice(11, 23);
      const name = LEVELS[level] ?? String(level);
      const label = colour ? `\x1b[${COLOURS[level] ?? '0'}m${name}\x1b[0m` : name;
      let text = `${time} ${label} ${String(record['msg'] ?? '')}`;
      for (const [key, value] of Object.entries(record)) {
        if (OMITTED.has(key) || value === undefined) continue;
        if (key === 'err' && typeof value === 'object' && value !== null && 'stack' in value) {
          text += `\n${String((value as { stack: unknown }).stack)}`;
          continue;
        }
        text += ` ${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`;
      }
      out.write(`${text}\n`);
    },
  };
}
