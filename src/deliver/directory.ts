import { readFile } from 'node:fs/promises';
import { AppError } from '../errors.ts';

/** Pseudonym ↔ phone number. Lives only inside deliver; its contents are never logged. */
export interface Directory {
  /** Phone number (E.164 digits, no '+') for a subscriber pseudonym. */
  lookup(sid: string): string | undefined;
  /** Subscriber pseudonym for a phone number (MO replies). */
  reverse(msisdn: string): string | undefined;
  readonly size: number;
}

/** Canonical MSISDN: digits only, no leading '+' or '00'. */
export function normaliseMsisdn(raw: string): string {
  const digits = raw.replace(/[^0-9]/g, '');
  return digits.startsWith('00') ? digits.slice(2) : digits;
}

/** A directory over given pairs (tests, demo, or rows read from a restricted store table). */
export function createDirectory(entries: Iterable<readonly [sid: string, msisdn: string]>): Directory {
  const bySid = new Map<string, string>();
  const byMsisdn = new Map<string, string>();
  for (const [sid, raw] of entries) {
    const msisdn = normaliseMsisdn(raw);
    bySid.set(sid, msisdn);
    byMsisdn.set(msisdn, sid);
  }
  return {
    lookup: (sid) => bySid.get(sid),
    reverse: (msisdn) => byMsisdn.get(normaliseMsisdn(msisdn)),
    get size() {
      return bySid.size;
    },
  };
}

/**
 * Loads DIRECTORY_FILE: CSV `sid,msisdn` (an optional header line) or NDJSON `{"sid":…,"msisdn":…}`.
 * A bad line stops loading with its line number (never its content: it is personal data).
 */
export async function loadDirectoryFile(path: string): Promise<Directory> {
  const text = await readFile(path, 'utf8');
  const pairs: [string, string][] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (line === '' || line.startsWith('#')) continue;
    let sid: unknown;
    let msisdn: unknown;
    if (line.startsWith('{')) {
      try {
        ({ sid, msisdn } = JSON.parse(line));
      } catch {
        sid = undefined;
      }
    } else {
      [sid, msisdn] = line.split(',').map((s) => s.trim());
      if (n === 0 && sid === 'sid') continue;
    }
    if (
      typeof sid !== 'string' ||
      typeof msisdn !== 'string' ||
      sid === '' ||
      !/^\+?[0-9]{6,15}$/.test(msisdn)
    ) {
      throw new AppError('CONFIG_INVALID', `directory file ${path}: line ${n + 1} is not sid,msisdn`);
    }
    pairs.push([sid, msisdn]);
  }
  return createDirectory(pairs);
}
