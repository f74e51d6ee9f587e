// Duration strings as config and proto options write them ("2s", "1.5s", "250ms", "1m", "1h").

const units: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds for a duration string, or undefined when it is not one (negative values are not). */
export function parseDurationMs(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * units[match[2]!]!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}
