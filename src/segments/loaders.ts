import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { AppError, isAppError } from '../errors.ts';
import type { ProfileInput } from './codec.ts';
import { createProfileLineScanner } from './profile-line-scanner.ts';
import type { ProfileStore } from './profile-store.ts';

export interface LoadError {
  /** 1-based line (NDJSON) or record number counting the header as 1 (CSV). */
  line: number;
  message: string;
}

export interface LoadResult {
  loaded: number;
  rejected: number;
  /** The first `maxErrors` errors; `rejected` counts them all. */
  errors: LoadError[];
}

export interface LoadOptions {
  /** Errors kept in the result (all are counted). Default 100. */
  maxErrors?: number;
  /** Called after each accepted row (e.g. to persist it); never for rejected rows. */
  onLoaded?: (sid: string, slot: number) => void | Promise<void>;
}

type Chunks = Readable | AsyncIterable<string | Buffer>;

function createResult(maxErrors: number) {
  const result: LoadResult = { loaded: 0, rejected: 0, errors: [] };
  const reject = (line: number, message: string) => {
    result.rejected++;
    if (result.errors.length < maxErrors) result.errors.push({ line, message });
  };
  return { result, reject };
}

function errorMessage(err: unknown): string {
  if (isAppError(err)) return err.message;
  if (err instanceof SyntaxError) return `not valid JSON: ${err.message}`;
  throw err;
}

/**
 * Streams NDJSON profiles (`{"sid": "...", "age": 34, ...}` per line) into the store. A bad line (broken
 * JSON, missing sid, bad value) is counted and reported with its line number; it never stops the load.
 * Plain lines are read by a scanner straight into raw values; any line it does not take (escapes,
 * unknown keys, values to convert or reject, broken JSON) goes through `JSON.parse` and `upsert`, so
 * stored values and errors are the same either way.
 */
export async function loadProfilesNdjson(
  input: Chunks,
  store: ProfileStore,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const { result, reject } = createResult(options.maxErrors ?? 100);
  const scan = createProfileLineScanner(store.layout);
  const raws = new Float64Array(store.layout.attrs.length);
  let carry: Buffer = Buffer.alloc(0);
  let line = 0;
  const handle = (bytes: Buffer, start: number, end: number): void | Promise<void> => {
    line++;
    let sid: string | undefined;
    let slot: number;
    try {
      sid = scan(bytes, start, end, raws);
      if (sid !== undefined) slot = store.upsertEncoded(sid, raws);
      else {
        const row = parseLine(bytes.toString('utf8', start, end));
        if (row === undefined) return;
        sid = row.sid as string;
        slot = store.upsert(sid, row);
      }
    } catch (err) {
      reject(line, errorMessage(err));
      return;
    }
    result.loaded++;
    return options.onLoaded?.(sid, slot);
  };
  // lines are cut on the bytes, so a character split between two chunks stays whole
  const lineEnd = (buf: Buffer, start: number, nl: number) =>
    nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
  for await (const chunk of input as AsyncIterable<string | Buffer>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    let nl = buf.indexOf(10);
    if (carry.length > 0) {
      // only the line that straddles the boundary is copied, not the whole chunk
      if (nl < 0) {
        carry = Buffer.concat([carry, buf]);
        continue;
      }
      const first = Buffer.concat([carry, buf.subarray(0, nl)]);
      const pending = handle(first, 0, lineEnd(first, 0, first.length));
      if (pending) await pending;
      start = nl + 1;
      nl = buf.indexOf(10, start);
    }
    for (; nl >= 0; nl = buf.indexOf(10, start)) {
      const pending = handle(buf, start, lineEnd(buf, start, nl));
      if (pending) await pending;
      start = nl + 1;
    }
    // a copy: the source may reuse its chunk buffers
    carry = Buffer.from(buf.subarray(start));
  }
  if (carry.length > 0) await handle(carry, 0, carry.length);
  return result;
}

/** One NDJSON line through JSON.parse: the profile, undefined for a blank line; throws for anything else. */
function parseLine(text: string): ProfileInput | undefined {
  // blank lines are skipped; only lines that start with whitespace pay for a trim
  if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === '')) return undefined;
  const row = JSON.parse(text) as unknown;
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    throw new AppError('PROFILE_ROW_INVALID', 'expected a JSON object', { httpStatus: 400 });
  }
  return row as ProfileInput;
}

/**
 * Streams CSV profiles into the store. The header names the columns: `sid` and catalogue attributes;
 * empty cells are unknown values, sets are `a|b|c`, booleans true/false/1/0/yes/no, dates ISO-8601.
 * Unknown header columns are reported once (line 1) and ignored; bad rows are counted and skipped.
 */
export async function loadProfilesCsv(
  input: Chunks,
  store: ProfileStore,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const { result, reject } = createResult(options.maxErrors ?? 100);
  const known = new Set(store.catalogue.map((a) => a.name));
  let record = 0;
  const parser = parse({
    relax_column_count: true,
    skip_empty_lines: true,
    bom: true,
    trim: true,
    // a malformed record (bad quoting) is skipped and counted, the parse goes on
    skip_records_with_error: true,
    on_skip: (err) => {
      record++;
      const lines = (err as { lines?: unknown } | undefined)?.lines;
      reject(
        typeof lines === 'number' ? lines : record,
        `CSV parse error: ${err?.message ?? 'malformed record'}`,
      );
      return undefined;
    },
  });
  const source = input as AsyncIterable<string | Buffer>;
  const feed = (async () => {
    try {
      for await (const chunk of source)
        if (!parser.write(chunk)) await new Promise((r) => parser.once('drain', r));
      parser.end();
    } catch (err) {
      parser.destroy(err as Error);
    }
  })();
  let header: string[] | undefined;
  let use: number[] = [];
  let sidCol = -1;
  try {
    for await (const cells of parser as AsyncIterable<string[]>) {
      record++;
      if (!header) {
        header = cells;
        sidCol = header.indexOf('sid');
        use = header.map((_, i) => i).filter((i) => known.has(header![i]));
        const unknown = header.filter((h, i) => i !== sidCol && !known.has(h));
        if (sidCol < 0) reject(1, 'header has no sid column; every row will be rejected');
        else if (unknown.length > 0) {
          result.errors.push({
            line: 1,
            message: `unknown columns ignored: ${unknown.slice(0, 10).join(', ')}`,
          });
        }
        continue;
      }
      if (cells.length !== header.length) {
        reject(record, `expected ${header.length} cells, got ${cells.length}`);
        continue;
      }
      const attrs: ProfileInput = {};
      for (const i of use) attrs[header[i]] = cells[i];
      let slot: number;
      const sid = sidCol >= 0 ? cells[sidCol] : '';
      try {
        slot = store.upsert(sid, attrs);
      } catch (err) {
        reject(record, errorMessage(err));
        continue;
      }
      result.loaded++;
      if (options.onLoaded) await options.onLoaded(sid, slot);
    }
  } catch (err) {
    // malformed CSV quoting stops the parser: report it as one error instead of throwing
    reject(record + 1, `CSV parse error: ${(err as Error).message}`);
  }
  await feed;
  return result;
}
