import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** What is known about a message before its first part is submitted. */
export interface OutboxIntent {
  id: string;
  key: string;
  sid: string;
  campaignId: string;
  fenceId: string;
  storeId: string;
  tenant: string;
  senderId: string;
  parts: number;
  encoding: string;
  tsMs: number;
}

export interface Outbox {
  /** Intents found without an outcome when the journal was opened: in flight at a crash. */
  readonly recovered: readonly OutboxIntent[];
  /** True when the key was ever written (sent, failed, unknown or in flight). */
  has(key: string): boolean;
  /** Writes the intent and resolves once it is on disk (fdatasync); only then may the SMS be submitted. */
  intend(intent: OutboxIntent): Promise<void>;
  /** Records the outcome; rides along with the next group commit (a lost outcome reads as `unknown`). */
  settle(id: string, status: string): void;
  /** Forgets an intent none of whose parts was written (graceful shutdown): the key may be sent later. */
  release(id: string, key: string): void;
  readonly pending: number;
  close(): Promise<void>;
}

export interface OutboxOptions {
  dir: string;
  logger: Logger;
  /** Keys older than this are forgotten when the journal is compacted (start-up and rotation). */
  retentionDays?: number;
  /** The journal is compacted in place once it grows past this many bytes. */
  maxBytes?: number;
  nowMs?: () => number;
}

interface KeyEntry {
  id: string;
  tsMs: number;
}

/**
 * The at-most-once outbox: an append-only JSON-lines journal under DATA_DIR with group commit.
 * Intents of all messages submitted in one event-loop turn share one write + fdatasync, so the
 * durability costs about one disk flush per batch instead of one per message, which a ClickHouse
 * insert per message could not match. Outcomes end up in the store's `messages` table through the
 * sender's sink; the journal only has to remember keys and unfinished intents.
 */
export async function openOutbox(opts: OutboxOptions): Promise<Outbox> {
  const now = opts.nowMs ?? Date.now;
  const retentionMs = (opts.retentionDays ?? 2) * 86_400_000;
  await mkdir(opts.dir, { recursive: true });
  const path = join(opts.dir, 'outbox.jsonl');
  const keys = new Map<string, KeyEntry>();
  const open_ = new Map<string, OutboxIntent>();

  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let torn = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let rec: any;
    try {
      rec = JSON.parse(line);
    } catch {
      // Only the last line can be torn by a crash mid-write; it was never acknowledged.
      torn++;
      continue;
    }
    if (rec.t === 'K') keys.set(rec.k, { id: rec.id, tsMs: rec.ts });
    else if (rec.t === 'I') {
      keys.set(rec.i.key, { id: rec.i.id, tsMs: rec.i.tsMs });
      open_.set(rec.i.id, rec.i);
    } else if (rec.t === 'D') open_.delete(rec.id);
    else if (rec.t === 'R') {
      open_.delete(rec.id);
      keys.delete(rec.k);
    }
  }
  if (torn > 0) opts.logger.warn({ torn }, 'outbox journal had torn lines');
  const recovered = [...open_.values()];

  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  // Intents journaled in this run without an outcome yet (kept across a rotation).
  const openIntents = new Map<string, OutboxIntent>();

  // Compaction: keys within retention plus open intents, written atomically (tmp + fsync + rename).
  const writeCompacted = async (): Promise<number> => {
    const cutoff = now() - retentionMs;
    const lines: string[] = [];
    for (const [k, e] of keys) {
      if (e.tsMs < cutoff && !openIntents.has(e.id)) {
        keys.delete(k);
        continue;
      }
      if (!openIntents.has(e.id)) lines.push(JSON.stringify({ t: 'K', k, id: e.id, ts: e.tsMs }));
    }
    for (const i of openIntents.values()) lines.push(JSON.stringify({ t: 'I', i }));
    const body = lines.length > 0 ? `${lines.join('\n')}\n` : '';
    const tmp = `${path}.tmp`;
    const th = await open(tmp, 'w');
    await th.writeFile(body);
    await th.sync();
    await th.close();
    await rename(tmp, path);
    const dh = await open(opts.dir, 'r');
    await dh.sync().catch(() => undefined);
    await dh.close();
    return Buffer.byteLength(body);
  };

  let bytes = await writeCompacted();
  let fh: FileHandle = await open(path, 'a');
  let buffer: string[] = [];
  let waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  let flushing: Promise<void> | undefined;
  let closed = false;

  const flush = async (): Promise<void> => {
    while (buffer.length > 0) {
      const data = buffer.join('');
      const ws = waiters;
      buffer = [];
      waiters = [];
      try {
        await fh.write(data);
        await fh.datasync();
        bytes += data.length;
        for (const w of ws) w.resolve();
      } catch (err) {
        const e = new AppError('DELIVERY_UNKNOWN', 'outbox journal write failed', { cause: err });
        for (const w of ws) w.reject(e);
      }
      if (bytes > maxBytes) {
        // Rotation keeps the journal bounded: the compacted file replaces it atomically.
        try {
          await fh.close();
          bytes = await writeCompacted();
        } catch (err) {
          opts.logger.error({ err }, 'outbox journal rotation failed');
        }
        fh = await open(path, 'a');
      }
    }
    flushing = undefined;
  };
  const schedule = (): void => {
    if (!flushing) flushing = new Promise<void>((r) => setImmediate(r)).then(flush);
  };

  return {
    recovered,
    has: (key) => keys.has(key),
    intend(intent) {
      if (closed) return Promise.reject(new AppError('DELIVERY_UNKNOWN', 'outbox is closed'));
      if (keys.has(intent.key)) {
        return Promise.reject(new AppError('VERSION_CONFLICT', 'idempotency key already used'));
      }
      keys.set(intent.key, { id: intent.id, tsMs: intent.tsMs });
      openIntents.set(intent.id, intent);
      return new Promise<void>((resolve, reject) => {
        buffer.push(`${JSON.stringify({ t: 'I', i: intent })}\n`);
        waiters.push({ resolve, reject });
        schedule();
      });
    },
    settle(id, status) {
      if (closed) return;
      openIntents.delete(id);
      buffer.push(`${JSON.stringify({ t: 'D', id, s: status })}\n`);
      schedule();
    },
    release(id, key) {
      if (closed) return;
      openIntents.delete(id);
      keys.delete(key);
      buffer.push(`${JSON.stringify({ t: 'R', id, k: key })}\n`);
      schedule();
    },
    get pending() {
      return buffer.length;
    },
    async close() {
      closed = true;
      if (flushing) await flushing;
      if (buffer.length > 0) await flush();
      await fh.close();
    },
  };
}
