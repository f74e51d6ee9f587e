// The gRPC status codes and the one gRPC → HTTP status table (DESIGN §4).

/** gRPC status codes (grpc/doc/statuscodes.md). */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status code number. */
export type Code = (typeof Code)[keyof typeof Code];

const names: readonly string[] = Object.keys(Code);

/** The canonical name of a code (`NOT_FOUND`); unknown numbers are reported as `UNKNOWN`. */
export function codeName(code: number): string {
  return names[code] ?? 'UNKNOWN';
}

/** Normalises any number an upstream may send to a known code (unknown → UNKNOWN). */
export function toCode(code: number): Code {
  return Number.isInteger(code) && code >= 0 && code <= 16 ? (code as Code) : Code.UNKNOWN;
}

const httpStatusByCode: readonly number[] = [
  200, // OK
  499, // CANCELLED
  500, // UNKNOWN
  400, // INVALID_ARGUMENT
  504, // DEADLINE_EXCEEDED
  404, // NOT_FOUND
  409, // ALREADY_EXISTS
  403, // PERMISSION_DENIED
  429, // RESOURCE_EXHAUSTED
  400, // FAILED_PRECONDITION
  409, // ABORTED
  400, // OUT_OF_RANGE
  501, // UNIMPLEMENTED
  500, // INTERNAL
  503, // UNAVAILABLE
  500, // DATA_LOSS
  401, // UNAUTHENTICATED
];

/** HTTP status for a gRPC code, as grpc-gateway's HTTPStatusFromCode and DESIGN §4 say; unknown → 500. */
export function toHttpStatus(code: number): number {
  return httpStatusByCode[code] ?? 500;
}
