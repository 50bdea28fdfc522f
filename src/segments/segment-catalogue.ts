import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.ts';
import { type Segment, segmentSchema } from './rule-schema.ts';

/** Validates one segment definition (the same schema as the API); throws SEGMENT_INVALID listing each issue. */
export function parseSegment(input: unknown, source = 'segment'): Segment {
  const parsed = segmentSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path, message: i.message }));
    // the catalogue checks tag their issues with a stable reason (unknown_attribute, empty_list, ...)
    const reason = parsed.error.issues
      .map((i) => (i as { params?: { reason?: string } }).params?.reason)
      .find((r) => r !== undefined);
    throw new AppError(
      'SEGMENT_INVALID',
      `${source}: ${issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      { httpStatus: 400, details: { errors: issues, problem: reason ?? 'malformed' } },
    );
  }
  return parsed.data;
}

/**
 * Reads every `*.json` under `dir` as one segment, validated against the catalogue. A file that does
 * not parse or validate, or two files with one id, stop the load with SEGMENT_INVALID naming the file.
 */
export async function loadSegmentCatalogue(dir: string): Promise<Segment[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  const out: Segment[] = [];
  const seen = new Map<string, string>();
  for (const name of names) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(join(dir, name), 'utf8'));
    } catch (err) {
      throw new AppError('SEGMENT_INVALID', `${name}: not valid JSON (${(err as Error).message})`, {
        cause: err,
      });
    }
    const segment = parseSegment(json, name);
    const other = seen.get(segment.id);
    if (other) throw new AppError('SEGMENT_INVALID', `${name}: id ${segment.id} is also used by ${other}`);
    seen.set(segment.id, name);
    out.push(segment);
  }
  return out;
}
