// The keys the config schema admits at a key path, for error messages that name the allowed
// alternatives (an unknown key lists its valid neighbours).
import { z, type ZodTypeAny } from 'zod';

/** The keys of the object at `keyPath` in `schema` (list indexes and map keys step inside), or []. */
export function keysAt(schema: ZodTypeAny, keyPath: ReadonlyArray<string | number>): string[] {
  const node = unwrap(schema);
  if (node instanceof z.ZodUnion || node instanceof z.ZodDiscriminatedUnion) {
    // The first alternative that has keys there (a list-or-map key: the list's items, or the map's values).
    for (const option of node.options as ZodTypeAny[]) {
      const keys = keysAt(option, keyPath);
      if (keys.length > 0) return keys;
    }
    return [];
  }
  if (keyPath.length === 0) return node instanceof z.ZodObject ? Object.keys(node.shape as object) : [];
  const [step, ...rest] = keyPath;
  let child: ZodTypeAny | undefined;
  if (node instanceof z.ZodObject) child = (node.shape as Record<string, ZodTypeAny>)[String(step)];
  else if (node instanceof z.ZodArray) child = node.element as ZodTypeAny;
  else if (node instanceof z.ZodRecord) child = node.valueSchema as ZodTypeAny;
  return child === undefined ? [] : keysAt(child, rest);
}

/** The schema inside defaults, optionals, nullables and refinements. */
function unwrap(schema: ZodTypeAny): ZodTypeAny {
  let node = schema;
  for (;;) {
    if (node instanceof z.ZodDefault) node = node._def.innerType as ZodTypeAny;
    else if (node instanceof z.ZodOptional || node instanceof z.ZodNullable) node = node.unwrap() as ZodTypeAny;
    else if (node instanceof z.ZodEffects) node = node.innerType() as ZodTypeAny;
    else if (node instanceof z.ZodPipeline) node = node._def.in as ZodTypeAny;
    else return node;
  }
}
