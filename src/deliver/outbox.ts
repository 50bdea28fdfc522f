import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** Who and what a message is, as the journal records it (never the phone number). */
interface OutboxMessage {
  id: string;
  key: string;
  sid: string;
  campaignId: string;
  fenceId: string;
  storeId: string;
  tenant: string;
  senderId: string;
}

/** What is known about a message before its first part is submitted. */
export interface OutboxIntent extends OutboxMessage {
  parts: number;
  encoding: string;
  tsMs: number;
}

/**
 * An order the sender accepted into its queue, with what it takes to send it again after a restart.
 * Never the phone number: the directory gives it back by `sid`.
 */
export interface OutboxOrder extends OutboxMessage {
  text: string;
  validityMinutes: number;
  /** When the sender accepted it: validity runs from here, across restarts too. */
  tsMs: number;
}

/** A message whose outcome the previous run journaled shortly before it ended. */
export interface OutboxSettled {
  intent: OutboxIntent;
  status: string;
  tsMs: number;
}

export interface Outbox {
  /** Intents found without an outcome when the journal was opened: in flight at a crash. */
  readonly recovered: readonly OutboxIntent[];
  /** Orders found queued with no intent when the journal was opened: never submitted, to send now. */
  readonly recoveredQueued: readonly OutboxOrder[];
  /**
   * Messages settled within the last seconds of the previous run (journal time): their `messages`
   * rows may have died in the store writer's buffer with the process.
   */
  readonly recentlySettled: readonly OutboxSettled[];
  /** True when the key was ever written (queued, sent, failed, unknown or in flight). */
  has(key: string): boolean;
  /** Journals an accepted order (group commit) and resolves once it is on disk; the key is taken at once. */
  enqueue(order: OutboxOrder): Promise<void>;
  /** Writes the intent and resolves once it is on disk (fdatasync); only then may the SMS be submitted. */
  intend(intent: OutboxIntent): Promise<void>;
  /** Records the outcome; rides along with the next group commit (a lost outcome reads as `unknown`). */
  settle(id: string, status: string): void;
  /** Withdraws the intent of a message none of whose parts was written (shutdown): it is queued again. */
  requeue(id: string): void;
  /** Forgets an intent none of whose parts was written: the key may be sent later. */
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
  /** How far back from the journal's last record `recentlySettled` reaches. */
  settledTailMs?: number;
  nowMs?: () => number;
}

interface KeyEntry {
  id: string;
  tsMs: number;
}

/**
 * The at-most-once outbox: an append-only JSON-lines journal under DATA_DIR with group commit.
 * Orders accepted into the queue and intents of messages about to be submitted, all in one
 * event-loop turn, share one write + fdatasync, so durability costs about one disk flush per batch
 * instead of one per message, which a ClickHouse insert per message could not match. Outcomes end
 * up in the store's `messages` table through the sender's sink; the journal only has to remember
 * keys, queued orders and unfinished intents.
 *
 * Records: Q order queued, I intent (a part may leave), D outcome, B intent withdrawn (back to
 * queued), R intent and key forgotten, K a key (compaction). An order with an intent is never
 * recovered as queued: only a B proves none of its parts was written.
 */
export async function openOutbox(opts: OutboxOptions): Promise<Outbox> {
  const now = opts.nowMs ?? Date.now;
  const retentionMs = (opts.retentionDays ?? 2) * 86_400_000;
  const tailMs = opts.settledTailMs ?? 15_000;
  await mkdir(opts.dir, { recursive: true });
  const path = join(opts.dir, 'outbox.jsonl');
  const keys = new Map<string, KeyEntry>();
  // Orders accepted and not finished; intents journaled without an outcome (both kept by compaction).
  const openQueued = new Map<string, OutboxOrder>();
  const openIntents = new Map<string, OutboxIntent>();

  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let torn = 0;
  let lastTsMs = 0;
  const settled: OutboxSettled[] = [];
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
    else if (rec.t === 'Q') {
      keys.set(rec.q.key, { id: rec.q.id, tsMs: rec.q.tsMs });
      openQueued.set(rec.q.id, rec.q);
      lastTsMs = Math.max(lastTsMs, rec.q.tsMs);
    } else if (rec.t === 'I') {
      keys.set(rec.i.key, { id: rec.i.id, tsMs: rec.i.tsMs });
      openIntents.set(rec.i.id, rec.i);
      lastTsMs = Math.max(lastTsMs, rec.i.tsMs);
    } else if (rec.t === 'D') {
      const intent = openIntents.get(rec.id);
      if (intent && typeof rec.ts === 'number') {
        settled.push({ intent, status: rec.s, tsMs: rec.ts });
        lastTsMs = Math.max(lastTsMs, rec.ts);
      }
      openIntents.delete(rec.id);
      openQueued.delete(rec.id);
    } else if (rec.t === 'B') openIntents.delete(rec.id);
    else if (rec.t === 'R') {
      openIntents.delete(rec.id);
      openQueued.delete(rec.id);
      keys.delete(rec.k);
    }
  }
  if (torn > 0) opts.logger.warn({ torn }, 'outbox journal had torn lines');
  const recovered = [...openIntents.values()];
  // At most once: an order that reached an intent may have left, so only intent-less ones are resent.
  for (const id of openIntents.keys()) openQueued.delete(id);
  const recoveredQueued = [...openQueued.values()];
  const recentlySettled = settled.filter((x) => x.tsMs >= lastTsMs - tailMs);
  // Recovered intents are settled `unknown` by the sender; from here on they are plain keys.
  openIntents.clear();

  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;

  // Compaction: keys within retention plus open orders and intents, written atomically (tmp + fsync
  // + rename). An order with an open intent keeps both records, so a later B finds the order.
  const writeCompacted = async (): Promise<number> => {
    const cutoff = now() - retentionMs;
    const lines: string[] = [];
    for (const [k, e] of keys) {
      const open_ = openIntents.has(e.id) || openQueued.has(e.id);
      if (e.tsMs < cutoff && !open_) {
        keys.delete(k);
        continue;
      }
      if (!open_) lines.push(JSON.stringify({ t: 'K', k, id: e.id, ts: e.tsMs }));
    }
    for (const q of openQueued.values()) lines.push(JSON.stringify({ t: 'Q', q }));
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

  const commit = (record: unknown): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      buffer.push(`${JSON.stringify(record)}\n`);
      waiters.push({ resolve, reject });
      schedule();
    });

  return {
    recovered,
    recoveredQueued,
    recentlySettled,
    has: (key) => keys.has(key),
    enqueue(order) {
      if (closed) return Promise.reject(new AppError('DELIVERY_UNKNOWN', 'outbox is closed'));
      if (keys.has(order.key)) {
        return Promise.reject(new AppError('VERSION_CONFLICT', 'idempotency key already used'));
      }
      keys.set(order.key, { id: order.id, tsMs: order.tsMs });
      openQueued.set(order.id, order);
      return commit({ t: 'Q', q: order });
    },
    intend(intent) {
      if (closed) return Promise.reject(new AppError('DELIVERY_UNKNOWN', 'outbox is closed'));
      const known = keys.get(intent.key);
      // The key is taken unless this is the intent of the very order that took it.
      const ownOrder = known?.id === intent.id && openQueued.has(intent.id) && !openIntents.has(intent.id);
      if (known && !ownOrder) {
        return Promise.reject(new AppError('VERSION_CONFLICT', 'idempotency key already used'));
      }
      keys.set(intent.key, { id: intent.id, tsMs: intent.tsMs });
      openIntents.set(intent.id, intent);
      return commit({ t: 'I', i: intent });
    },
    settle(id, status) {
      if (closed) return;
      openIntents.delete(id);
      openQueued.delete(id);
      buffer.push(`${JSON.stringify({ t: 'D', id, s: status, ts: now() })}\n`);
      schedule();
    },
    requeue(id) {
      if (closed || !openIntents.delete(id)) return;
      buffer.push(`${JSON.stringify({ t: 'B', id })}\n`);
      schedule();
    },
    release(id, key) {
      if (closed) return;
      openIntents.delete(id);
      openQueued.delete(id);
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
