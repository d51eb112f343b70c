// The pre-flight check's body: the flat attributes of the work about to start, named as the rest of
// the API names them (dimensions and their event-field aliases, src/costs/dimensions.ts), plus
// run_id and estimated_cost_usd. Unknown names are refused: a misspelled attribute would otherwise
// be ignored and the check would fail open.
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { canonicalDimension, dimensionAliases, dimensionNames } from '../costs/dimensions.js';
import { decimal } from '../events/schema.js';

const attribute = z.string().max(256);
const names = [...dimensionNames, ...Object.keys(dimensionAliases), 'run_id'];

export const checkBody = z.strictObject({
  ...(Object.fromEntries(names.map((n) => [n, attribute.optional()])) as Record<string, z.ZodOptional<typeof attribute>>),
  // A decimal string, or a JSON number that is the decimal its sender wrote (as event amounts are).
  estimated_cost_usd: decimal(24, 'must be a decimal amount such as "0.40"').optional(),
});

/** The attributes under their canonical names (customer_id → customer); a name given twice with two values is refused. */
export function checkAttributes(body: Record<string, string | undefined>): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    if (value === undefined) continue;
    const key = canonicalDimension(name) ?? name;
    if (attrs[key] !== undefined && attrs[key] !== value) {
      throw new ApiError(400, 'invalid_request', `${name}: names ${key} again with another value`, { errors: [{ parameter: name, message: `${key} given twice with different values` }] });
    }
    attrs[key] = value;
  }
  return attrs;
}
