// Proto leading comments as OpenAPI text: summaries, descriptions and the notes we add for
// proto semantics that JSON Schema cannot state (oneofs, explicit presence).
import type protobuf from 'protobufjs';
import { jsonNameOf, realOneof } from '../../src/transcode/json/field-info.js';

/** Splits a comment into its first sentence (one line) and the rest. */
export function splitComment(comment: string | null | undefined): { summary: string; description: string } {
  const text = (comment ?? '').trim();
  if (text === '') return { summary: '', description: '' };
  // A sentence ends at ". " / ".\n" / the end (not after e.g., i.e., etc.); a blank line also ends it.
  const end = /(?<!\b(?:e\.g|i\.e|etc|vs))\.(?=\s|$)|\n\s*\n/.exec(text);
  const cut = end === null ? text.length : end.index + (end[0].startsWith('.') ? 1 : 0);
  return {
    summary: text.slice(0, cut).replace(/\s*\n\s*/g, ' ').trim(),
    description: text.slice(cut).trim(),
  };
}

/** Non-empty parts joined by a blank line. */
export function joinText(...parts: Array<string | null | undefined>): string {
  return parts
    .map((part) => (part ?? '').trim())
    .filter((part) => part !== '')
    .join('\n\n');
}

/** Notes for what a field's proto declaration means in JSON beyond its type. */
export function fieldNotes(field: protobuf.Field): string {
  const notes: string[] = [];
  const oneof = realOneof(field);
  if (oneof !== undefined) {
    const members = oneof.fieldsArray.map((member) => `\`${jsonNameOf(member)}\``).join(', ');
    notes.push(`Member of oneof \`${oneof.name}\`: at most one of ${members} may be set.`);
  } else if ((field.options as Record<string, unknown> | undefined)?.['proto3_optional'] === true) {
    notes.push('Optional (explicit presence): an absent field differs from one set to its default value.');
  }
  return notes.join(' ');
}
