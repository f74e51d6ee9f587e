// Query parameters beginning with `$` are system parameters, never request fields (DESIGN §4):
// `$alt=json;enum-encoding=int`, `$fields` (a response field mask), `$prettyPrint`.
import { badRequest } from '../errors/gateway-error.js';
import { parseResponseFieldMask, type ResponseFieldMask } from './response-field-mask.js';

/** What the system parameters of one request ask for. */
export interface SystemParameters {
  enumsAsInts: boolean;
  prettyPrint: boolean;
  fields: ResponseFieldMask | undefined;
}

/** The defaults, shared by every request that sets no system parameter. */
export const noSystemParameters: Readonly<SystemParameters> = Object.freeze({
  enumsAsInts: false,
  prettyPrint: false,
  fields: undefined,
});

/** Reads one `$name=value` pair into `into` (created on first use). Unknown `$` names are ignored. */
export function applySystemParameter(into: SystemParameters | undefined, name: string, value: string): SystemParameters {
  const params = into ?? { ...noSystemParameters };
  switch (name) {
    case '$alt': {
      const [format, ...options] = value.split(';');
      if (format !== 'json') {
        throw badRequest('PG_BAD_QUERY_PARAM', name, `$alt "${format ?? ''}" is not supported; only "json" is`);
      }
      for (const option of options) {
        const [key, setting] = option.split('=');
        if (key === 'enum-encoding') params.enumsAsInts = setting === 'int';
      }
      break;
    }
    case '$prettyPrint':
      params.prettyPrint = value === '' || value === 'true' || value === '1';
      break;
    case '$fields':
      params.fields = parseResponseFieldMask(value);
      break;
    default:
      break;
  }
  return params;
}
