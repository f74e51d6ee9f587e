// google.api.HttpBody: the message that carries an HTTP body as it is (httpbody.proto). A rule
// whose request body is an HttpBody (the whole request, or the `body` field) receives the raw
// request bytes and Content-Type instead of JSON; a method whose response (or `response_body`
// field) is an HttpBody answers with `data` as the body and `content_type` as the Content-Type.
// Uploads, downloads, images, CSV — anything that is not JSON.
import protobuf from 'protobufjs';
import type { RouteSpec } from '../gateway-model.js';

export const HTTP_BODY_TYPE = 'google.api.HttpBody';

/** type "/" subtype, then parameters; tokens per RFC 9110 §5.6.2, the whole value printable ASCII. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*;[\x20-\x7e]*)?$/;

/** A response body to send as it is. */
export interface RawBody {
  readonly contentType: string;
  readonly data: Buffer;
}

/** Whether `type` is HttpBody (names as in RouteSpec, without the leading dot). */
export function isHttpBody(type: protobuf.Type | undefined): boolean {
  return type !== undefined && type.fullName === `.${HTTP_BODY_TYPE}`;
}

/** The HttpBody the request body binds to: the request message itself, or its `body` field's type. */
export function requestTakesRawBody(spec: RouteSpec, request: protobuf.Type): boolean {
  if (spec.body === '*') return isHttpBody(request);
  if (spec.body === '') return false;
  return isHttpBody(messageFieldType(request, spec.body));
}

/** The response is (or its `response_body` field is) an HttpBody. */
export function responseIsRawBody(spec: RouteSpec, response: protobuf.Type): boolean {
  if (spec.responseBody === '') return isHttpBody(response);
  return isHttpBody(messageFieldType(response, spec.responseBody));
}

/** The request's HttpBody as the JSON tree the codec reads: `{content_type, data}` (data in base64). */
export function rawBodyAsJson(body: Uint8Array | undefined, contentType: string | undefined): { content_type: string; data: string } {
  const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return { content_type: contentType ?? 'application/octet-stream', data: bytes.toString('base64') };
}

/** Reads the HttpBody out of an upstream response (the message, or its `response_body` field). */
export function compileRawBodyReader(spec: RouteSpec, response: protobuf.Type): (message: Uint8Array) => RawBody {
  const httpBody = response.root.lookupType(HTTP_BODY_TYPE);
  const field = spec.responseBody;
  return (message) => {
    const decoded = (field === '' ? httpBody.decode(message) : (response.decode(message) as unknown as Record<string, unknown>)[fieldKey(response, field)]) as
      | { content_type?: string; data?: Uint8Array }
      | undefined;
    const data = decoded?.data;
    const contentType = decoded?.content_type ?? '';
    // The value becomes a response header: a media type of printable ASCII, or the answer is the upstream's fault.
    if (contentType !== '' && !MEDIA_TYPE.test(contentType)) throw new Error(`HttpBody.content_type is not a media type: ${JSON.stringify(contentType.slice(0, 64))}`);
    return {
      // An empty content_type is not a media type; bytes of unknown kind are octet-stream (RFC 9110 §8.3).
      contentType: contentType || 'application/octet-stream',
      data: data === undefined ? Buffer.alloc(0) : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    };
  };
}

function messageFieldType(type: protobuf.Type, name: string): protobuf.Type | undefined {
  const field = type.fields[name];
  if (field === undefined) return undefined;
  field.resolve();
  return field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
}

/** protobufjs keeps proto names with keepCase (how the model is loaded), else camelCase. */
function fieldKey(type: protobuf.Type, name: string): string {
  return type.fields[name]?.name ?? name;
}
