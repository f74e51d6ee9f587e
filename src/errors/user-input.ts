// Client input quoted in error messages is shortened, so a huge value cannot make a huge answer.

/** Shortens client input for an error message (`max` characters, then `…`). */
export function truncate(text: string, max = 48): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
