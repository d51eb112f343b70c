// Opaque pagination cursors: base64url JSON, validated on the way back in.
import { z } from 'zod';
import { ApiError } from './errors.js';
import { CLOCK_SKEW, EARLIEST_INSTANT } from './costs/time.js';

export const encodeCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new ApiError(400, 'invalid_cursor', 'cursor: not a cursor issued by this endpoint');
  }
}

/**
 * Whether `ms` can be a snapshot an earlier page pinned: an instant this service could have read
 * as its applied watermark (not before 2000, not in the future beyond another API process's clock
 * skew, CLOCK_SKEW). Cursors are not signed: what they carry is checked so that a forged one can
 * only ask for what the parameters could.
 */
export const snapshotFits = (ms: number) => Number.isSafeInteger(ms) && ms >= EARLIEST_INSTANT && ms <= Date.now() + CLOCK_SKEW;
