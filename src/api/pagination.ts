import { z } from 'zod';

/** Query fields of a paginated list: `limit` (1–1000, default 100) and an opaque `cursor`. */
export const pageQuerySchema = {
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Items per page (1–1000)'),
  cursor: z.string().min(1).max(512).optional().describe('`nextCursor` of the previous page'),
};

/** A page of items; `nextCursor` is absent on the last page. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().optional() });
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** Encodes an opaque cursor (base64url JSON). */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Decodes a cursor made by encodeCursor; undefined when it is not one. */
export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (!cursor) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
