// The JSON⇄protobuf codecs of the transcoding stage: one codec per message type, compiled lazily
// on first use (recursive types work) and cached; the hot path never reflects on protobufjs types.
import protobuf from 'protobufjs';
import type { JsonValue } from './json-parser.js';
import { compileMessageDecoder, type MessageDecoder } from './json-request-decoder.js';
import { compileMessageEncoder, type MessageEncoder } from './json-response-encoder.js';
import { specialWellKnownType, type SpecialWellKnownType } from './well-known-types.js';

/** How JSON input is read. Shared across requests. */
export interface JsonReadOptions {
  /** Drop unknown fields (and unknown enum names) instead of failing. */
  ignoreUnknownFields: boolean;
}

/** How JSON output is written. Shared across requests. */
export interface JsonWriteOptions {
  /** Emit implicit-presence fields at their defaults and unset message fields as null. */
  emitDefaults: boolean;
  /** Enums as numbers instead of names. */
  enumsAsInts: boolean;
}

/** The JSON codec of one message type. */
export interface MessageCodec {
  readonly typeName: string;
  /**
   * Validates a JSON value against the message and appends its fields, protobuf-encoded, to
   * `writer` (not length-prefixed). `path` is the field path prefix for error messages ('' at the top).
   */
  encode(value: JsonValue, writer: protobuf.Writer, options: JsonReadOptions, path: string): void;
  /** Convenience: value → Uint8Array. */
  encodeToBytes(value: JsonValue, options: JsonReadOptions): Uint8Array;
  /** protobuf bytes of this message → canonical JSON text. Throws a plain Error on malformed protobuf. */
  toJson(bytes: Uint8Array, options: JsonWriteOptions): string;
  /**
   * protobuf bytes of this message → JSON text of ONE top-level field (for `response_body`);
   * an unset message field gives `null`, repeated gives an array.
   */
  fieldToJson(bytes: Uint8Array, fieldName: string, options: JsonWriteOptions): string;
}

/** Codecs for the message types of one protobufjs Root. */
export interface CodecRegistry {
  /** The codec of a message type (leading dot optional). Throws if the type is unknown. */
  codec(fullTypeName: string): MessageCodec;
}

/** What codecs need from each other (nested messages, Any). */
export interface CodecInternals extends MessageCodec {
  /** True for google.protobuf.Value, where JSON null is a value rather than "unset". */
  readonly acceptsNull: boolean;
  /** True for well-known types with a special JSON form (Any wraps them in `"value"`). */
  readonly special: boolean;
  /** The fields of a regular message as JSON members without braces ('' if none). */
  membersJson(bytes: Uint8Array, options: JsonWriteOptions): string;
  /** Encodes a regular message from an object, ignoring its `@type` key (for Any). */
  encodeAnyFields(value: JsonValue, writer: protobuf.Writer, options: JsonReadOptions, path: string): void;
}

/** Registry access for codecs being compiled. */
export interface CodecLookup {
  get(fullTypeName: string): CodecInternals;
  /** Resolves an Any type URL by the part after its last `/`; undefined if unknown. */
  byTypeUrl(typeUrl: string): CodecInternals | undefined;
}

class LazyMessageCodec implements CodecInternals {
  readonly acceptsNull: boolean;
  readonly special: boolean;
  private readonly wkt: SpecialWellKnownType | undefined;
  private decoder: MessageDecoder | undefined;
  private encoder: MessageEncoder | undefined;

  constructor(
    readonly typeName: string,
    private readonly type: protobuf.Type,
    private readonly lookup: CodecLookup,
  ) {
    this.wkt = specialWellKnownType(typeName);
    this.special = this.wkt !== undefined;
    this.acceptsNull = typeName === 'google.protobuf.Value';
  }

  private dec(): MessageDecoder {
    return (this.decoder ??= compileMessageDecoder(this.type, this.lookup));
  }

  private enc(): MessageEncoder {
    return (this.encoder ??= compileMessageEncoder(this.type, this.lookup));
  }

  encode(value: JsonValue, writer: protobuf.Writer, options: JsonReadOptions, path: string): void {
    if (this.wkt !== undefined) this.wkt.encode(value, writer, options, path, this.lookup);
    else this.dec()(value, writer, options, path, false);
  }

  encodeAnyFields(value: JsonValue, writer: protobuf.Writer, options: JsonReadOptions, path: string): void {
    this.dec()(value, writer, options, path, true);
  }

  encodeToBytes(value: JsonValue, options: JsonReadOptions): Uint8Array {
    const writer = protobuf.Writer.create();
    this.encode(value, writer, options, '');
    return writer.finish();
  }

  toJson(bytes: Uint8Array, options: JsonWriteOptions): string {
    if (this.wkt !== undefined) return this.wkt.toJson(bytes, options, this.lookup);
    return `{${this.enc().members(bytes, options)}}`;
  }

  membersJson(bytes: Uint8Array, options: JsonWriteOptions): string {
    return this.enc().members(bytes, options);
  }

  fieldToJson(bytes: Uint8Array, fieldName: string, options: JsonWriteOptions): string {
    return this.enc().field(bytes, fieldName, options);
  }
}

/** Creates the codec registry of a resolved protobufjs Root (loaded with `keepCase: true`). */
export function createCodecRegistry(root: protobuf.Root): CodecRegistry {
  const codecs = new Map<string, LazyMessageCodec>();
  const lookup: CodecLookup = {
    get(fullTypeName) {
      const name = fullTypeName.startsWith('.') ? fullTypeName.slice(1) : fullTypeName;
      let codec = codecs.get(name);
      if (codec === undefined) {
        const type = root.lookupType(name);
        codec = new LazyMessageCodec(name, type, lookup);
        codecs.set(name, codec);
      }
      return codec;
    },
    byTypeUrl(typeUrl) {
      const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
      if (name === '') return undefined;
      const known = codecs.get(name);
      if (known !== undefined) return known;
      const found = root.lookup(name);
      return found instanceof protobuf.Type ? lookup.get(name) : undefined;
    },
  };
  return { codec: (name) => lookup.get(name) };
}

/** `a.b` field paths for error messages. */
export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
