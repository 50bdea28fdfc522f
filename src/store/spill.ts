import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** One batch as written to the spill file: replayed with the same dedup token, so a replay never double counts. */
export interface SpilledBatch {
  table: string;
  columns: readonly string[];
  token: string;
  rows: number;
  body: string;
}

const ACTIVE = 'writer-spill.ndjson';
const REPLAY_PREFIX = 'writer-spill-replay-';

/**
 * Append-only NDJSON file of batches the store could not take. Each append is fsynced before the
 * writer forgets the batch; replay renames the file first so new spills go to a fresh one.
 */
export function createSpill(dir: string) {
  let handle: FileHandle | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  let seq = 0;

  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn, fn);
    chain = p.catch(() => {});
    return p;
  };

  return {
    dir,
    append(batch: SpilledBatch): Promise<void> {
      return serial(async () => {
        if (!handle) {
          await mkdir(dir, { recursive: true });
          handle = await open(join(dir, ACTIVE), 'a');
        }
        await handle.write(`${JSON.stringify(batch)}\n`);
        await handle.sync();
      });
    },
    /** Moves the active file aside and returns every file waiting for replay, oldest first. */
    takeForReplay(): Promise<string[]> {
      return serial(async () => {
        await mkdir(dir, { recursive: true });
        if (handle) {
          await handle.close();
          handle = undefined;
        }
        const names = await readdir(dir);
        if (names.includes(ACTIVE)) {
          const to = `${REPLAY_PREFIX}${Date.now()}-${String(seq++).padStart(6, '0')}.ndjson`;
          await rename(join(dir, ACTIVE), join(dir, to));
          names.push(to);
        }
        return names
          .filter((n) => n.startsWith(REPLAY_PREFIX))
          .sort()
          .map((n) => join(dir, n));
      });
    },
    async *read(file: string): AsyncGenerator<SpilledBatch | Error> {
      const rl = createInterface({
        input: createReadStream(file, 'utf8'),
        crlfDelay: Number.POSITIVE_INFINITY,
      });
      for await (const line of rl) {
        if (line.length === 0) continue;
        try {
          yield JSON.parse(line) as SpilledBatch;
        } catch (err) {
          // A torn last line from a crash mid-append.
          yield err as Error;
        }
      }
    },
    remove: (file: string) => unlink(file),
    close(): Promise<void> {
      return serial(async () => {
        if (handle) await handle.close();
        handle = undefined;
      });
    },
  };
}

export type Spill = ReturnType<typeof createSpill>;
