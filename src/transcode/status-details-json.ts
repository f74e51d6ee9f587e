// google.rpc.Status details from an upstream error (grpc-status-details-bin) in their JSON
// form: each Any becomes `{"@type": …, …fields}` when its type is loaded, else `{"@type", "value"}`.
import type { StatusDetail } from '../errors/gateway-error.js';
import type { CodecRegistry } from './json/codec.js';

/** Converts decoded Any details to JSON; types the registry does not know keep their bytes (base64). */
export function detailsToJson(
  details: ReadonlyArray<{ typeUrl: string; value: Uint8Array }>,
  codecs: CodecRegistry,
  knownType: (fullName: string) => boolean,
): StatusDetail[] {
  return details.map(({ typeUrl, value }) => {
    const typeName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    if (knownType(typeName)) {
      try {
        const fields = JSON.parse(codecs.codec(typeName).toJson(value, { emitDefaults: false, enumsAsInts: false })) as unknown;
        if (fields !== null && typeof fields === 'object' && !Array.isArray(fields)) {
          return { '@type': typeUrl, ...(fields as Record<string, unknown>) };
        }
        // Well-known types with a non-object JSON form nest it under "value" (proto3 JSON for Any).
        return { '@type': typeUrl, value: fields };
      } catch {
        // Malformed detail bytes: pass them through undecoded rather than failing the response.
      }
    }
    return { '@type': typeUrl, value: Buffer.from(value).toString('base64') };
  });
}
