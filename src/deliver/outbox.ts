import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { hashHex, KeySet, parseHashHex } from './key-set.ts';

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

/** A message with parts the SMSC accepted whose receipts are still awaited (restored after a restart). */
export interface OutboxTracked {
  intent: OutboxIntent;
  /** SMSC id per part; '' for a part not accepted. */
  smscIds: string[];
  /** Receipt state per part ('queued' until accepted, then 'submitted', ...). */
  states: string[];
  submittedAtMs: number;
  /** Receipts are no longer awaited after this (validity + grace). */
  expiresAtMs: number;
}

export type OutboxTable = 'messages' | 'message_events';

/** A store row journaled until the store confirmed it durable. */
export interface OutboxRow {
  table: OutboxTable;
  row: Record<string, unknown>;
}

export interface Outbox {
  /** Intents found without an outcome when the journal was opened: in flight at a crash. */
  readonly recovered: readonly OutboxIntent[];
  /** Orders found queued with no intent when the journal was opened: never submitted, to send now. */
  readonly recoveredQueued: readonly OutboxOrder[];
  /** Messages awaiting receipts when the journal was opened, with each part's SMSC id and state. */
  readonly tracked: readonly OutboxTracked[];
  /**
   * Rows journaled by the previous runs that no `confirm` covered: they may have died in the store
   * writer's buffer, so they are written again (events deduplicated against the store).
   */
  readonly unconfirmedRows: readonly OutboxRow[];
  /** Journals a store row (rides along with the next group commit) until `confirm` covers it. */
  record(table: OutboxTable, row: Record<string, unknown>): void;
  /** Sequence number of the last row recorded (0 = none). */
  readonly rowSeq: number;
  /** Rows up to `seq` are durable in the store: compaction drops them and no restart replays them. */
  confirm(seq: number): void;
  /** A part was accepted (its receipts are awaited until `untrack` or `expiresAtMs`). */
  track(intent: OutboxIntent, part: number, smscId: string, expiresAtMs: number): void;
  /** A receipt moved a tracked part to `state`. */
  partState(id: string, part: number, state: string): void;
  /** Every part of the message is final (or it is forgotten). */
  untrack(id: string): void;
  /** Resolves once everything journaled before the call is written and synced (fdatasync). */
  synced(): Promise<void>;
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
  nowMs?: () => number;
}

function intentOf(q: OutboxOrder, parts: number, encoding: string): OutboxIntent {
  return {
    id: q.id,
    key: q.key,
    sid: q.sid,
    campaignId: q.campaignId,
    fenceId: q.fenceId,
    storeId: q.storeId,
    tenant: q.tenant,
    senderId: q.senderId,
    parts,
    encoding,
    tsMs: q.tsMs,
  };
}

function sameMessage(a: OutboxIntent, b: OutboxIntent): boolean {
  return (
    a.key === b.key &&
    a.sid === b.sid &&
    a.campaignId === b.campaignId &&
    a.fenceId === b.fenceId &&
    a.storeId === b.storeId &&
    a.tenant === b.tenant &&
    a.senderId === b.senderId &&
    a.tsMs === b.tsMs
  );
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
 *
 * Receipt state: S part accepted (its SMSC id), P part state, F message final, T a tracked message
 * (compaction). Store rows: W row (numbered), C rows up to a number are in the store. A W row stays
 * in the journal, across compactions too, until a C covers it, so a row that died in the store
 * writer's buffer is written again after a crash.
 */
export async function openOutbox(opts: OutboxOptions): Promise<Outbox> {
  const now = opts.nowMs ?? Date.now;
  const retentionMs = (opts.retentionDays ?? 2) * 86_400_000;
  await mkdir(opts.dir, { recursive: true });
  const path = join(opts.dir, 'outbox.jsonl');
  // Idempotency keys as 64-bit hashes (~20 B each; a Map of key strings took ~190 B per key).
  const keys = new KeySet();
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
  // Intents by id while reading, for S records (which do not repeat the intent).
  const intents = new Map<string, OutboxIntent>();
  const tracked = new Map<string, OutboxTracked>();
  // Unconfirmed rows as journal lines (what compaction writes back), oldest first.
  // `rec` only for rows read at open (what a restart writes again); at run time the line is enough.
  let rows: { n: number; line: string; rec?: OutboxRow }[] = [];
  let rowHead = 0;
  let rowSeq = 0;
  const dropConfirmed = (n: number): void => {
    while (rowHead < rows.length && rows[rowHead].n <= n) rowHead++;
    if (rowHead > 1024 && rowHead * 2 > rows.length) {
      rows = rows.slice(rowHead);
      rowHead = 0;
    }
  };
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
    if (rec.t === 'K') {
      // Compacted keys are hashes; journals written before carry the key itself.
      const h = typeof rec.h === 'string' ? parseHashHex(rec.h) : undefined;
      if (h) keys.addHash(h[0], h[1], rec.ts);
      else if (typeof rec.k === 'string') keys.add(rec.k, rec.ts);
    } else if (rec.t === 'Q') {
      keys.add(rec.q.key, rec.q.tsMs);
      openQueued.set(rec.q.id, rec.q);
    } else if (rec.t === 'I') {
      // The short form names its queued order, which holds everything else.
      const q: OutboxOrder | undefined = rec.i ? undefined : openQueued.get(rec.id);
      const i: OutboxIntent | undefined = rec.i ?? (q && intentOf(q, rec.p, rec.e));
      if (!i) continue;
      keys.add(i.key, i.tsMs);
      openIntents.set(i.id, i);
      intents.set(i.id, i);
    } else if (rec.t === 'S') {
      const intent = tracked.get(rec.id)?.intent ?? intents.get(rec.id);
      if (intent) {
        const t = tracked.get(rec.id) ?? {
          intent,
          smscIds: new Array(intent.parts).fill(''),
          states: new Array(intent.parts).fill('queued'),
          submittedAtMs: rec.ts,
          expiresAtMs: rec.x,
        };
        t.smscIds[rec.p] = rec.s;
        if (t.states[rec.p] === 'queued') t.states[rec.p] = 'submitted';
        tracked.set(rec.id, t);
      }
    } else if (rec.t === 'P') {
      const t = tracked.get(rec.id);
      if (t) t.states[rec.p] = rec.st;
    } else if (rec.t === 'F') tracked.delete(rec.id);
    else if (rec.t === 'T') tracked.set(rec.m.intent.id, rec.m);
    else if (rec.t === 'W') {
      rows.push({
        n: rec.n,
        line: `${line}\n`,
        rec: { table: rec.tb === 'm' ? 'messages' : 'message_events', row: rec.r },
      });
      rowSeq = Math.max(rowSeq, rec.n);
    } else if (rec.t === 'C') {
      dropConfirmed(rec.n);
      rowSeq = Math.max(rowSeq, rec.n);
    } else if (rec.t === 'D') {
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
  intents.clear();
  const recovered = [...openIntents.values()];
  // At most once: an order that reached an intent may have left, so only intent-less ones are resent.
  for (const id of openIntents.keys()) openQueued.delete(id);
  const recoveredQueued = [...openQueued.values()];
  const trackedAtOpen = [...tracked.values()].filter((t) => t.expiresAtMs >= now());
  const unconfirmedRows = rows.slice(rowHead).map((r) => r.rec as OutboxRow);
  // Recovered intents are settled `unknown` by the sender; from here on they are plain keys.
  openIntents.clear();

  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;

  // Compaction: keys within retention plus open orders and intents, written atomically (tmp + fsync
  // + rename). An order with an open intent keeps both records, so a later B finds the order.
  const writeCompacted = async (): Promise<number> => {
    keys.purge(now() - retentionMs);
    // Open orders keep their keys whatever their age (their Q / I records carry them again).
    for (const q of openQueued.values()) keys.add(q.key, q.tsMs);
    for (const i of openIntents.values()) keys.add(i.key, i.tsMs);
    // A synchronous snapshot (12 B per key), written out in chunks: tens of millions of keys never
    // become one string.
    const khi = new Uint32Array(keys.size);
    const klo = new Uint32Array(keys.size);
    const kts = new Float64Array(keys.size);
    let nk = 0;
    keys.forEach((hi, lo, ts) => {
      khi[nk] = hi;
      klo[nk] = lo;
      kts[nk++] = ts;
    });
    const lines: string[] = [];
    for (const q of openQueued.values()) lines.push(JSON.stringify({ t: 'Q', q }));
    for (const i of openIntents.values()) lines.push(JSON.stringify({ t: 'I', i }));
    const t = now();
    for (const [id, m] of tracked) {
      if (m.expiresAtMs < t) tracked.delete(id);
      else lines.push(JSON.stringify({ t: 'T', m }));
    }
    let tail = lines.length > 0 ? `${lines.join('\n')}\n` : '';
    // Rows the store has not confirmed survive the rotation (they are the last seconds before a crash).
    if (rowHead < rows.length)
      tail += rows
        .slice(rowHead)
        .map((r) => r.line)
        .join('');
    const tmp = `${path}.tmp`;
    const th = await open(tmp, 'w');
    let written = 0;
    const CHUNK = 65_536;
    for (let from = 0; from < nk; from += CHUNK) {
      let chunk = '';
      const to = Math.min(nk, from + CHUNK);
      for (let i = from; i < to; i++) chunk += `{"t":"K","h":"${hashHex(khi[i], klo[i])}","ts":${kts[i]}}\n`;
      await th.write(chunk);
      written += chunk.length;
    }
    await th.write(tail);
    written += Buffer.byteLength(tail);
    await th.sync();
    await th.close();
    await rename(tmp, path);
    const dh = await open(opts.dir, 'r');
    await dh.sync().catch(() => undefined);
    await dh.close();
    return written;
  };

  // Rotation once the journal doubles its compacted size (at least maxBytes): with many keys in
  // retention a compacted journal can itself exceed maxBytes, and compacting it on every flush would
  // rewrite it again and again.
  let bytes = await writeCompacted();
  let compactAt = Math.max(maxBytes, 2 * bytes);
  let fh: FileHandle = await open(path, 'a');
  let buffer: string[] = [];
  let waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  let flushing: Promise<void> | undefined;
  let closed = false;

  const flush = async (): Promise<void> => {
    while (buffer.length > 0 || waiters.length > 0) {
      const data = buffer.join('');
      const ws = waiters;
      buffer = [];
      waiters = [];
      try {
        if (data.length > 0) {
          await fh.write(data);
          await fh.datasync();
        }
        bytes += data.length;
        for (const w of ws) w.resolve();
      } catch (err) {
        const e = new AppError('DELIVERY_UNKNOWN', 'outbox journal write failed', { cause: err });
        for (const w of ws) w.reject(e);
      }
      if (bytes > compactAt) {
        // Rotation keeps the journal bounded: the compacted file replaces it atomically.
        try {
          await fh.close();
          bytes = await writeCompacted();
          compactAt = Math.max(maxBytes, 2 * bytes);
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

  const commitLine = (line: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      buffer.push(line);
      waiters.push({ resolve, reject });
      schedule();
    });
  const commit = (record: unknown): Promise<void> => commitLine(`${JSON.stringify(record)}\n`);

  const append = (line: string): void => {
    buffer.push(line);
    schedule();
  };

  return {
    recovered,
    recoveredQueued,
    tracked: trackedAtOpen,
    unconfirmedRows,
    has: (key) => keys.has(key),
    record(table, row) {
      if (closed) return;
      const n = ++rowSeq;
      const line = `{"t":"W","n":${n},"tb":"${table === 'messages' ? 'm' : 'e'}","r":${JSON.stringify(row)}}\n`;
      rows.push({ n, line });
      append(line);
    },
    get rowSeq() {
      return rowSeq;
    },
    confirm(seq) {
      if (closed || seq <= 0 || rowHead >= rows.length || rows[rowHead].n > seq) return;
      dropConfirmed(seq);
      append(`{"t":"C","n":${seq}}\n`);
    },
    track(intent, part, smscId, expiresAtMs) {
      if (closed) return;
      let t = tracked.get(intent.id);
      if (!t) {
        t = {
          intent,
          smscIds: new Array(intent.parts).fill(''),
          states: new Array(intent.parts).fill('queued'),
          submittedAtMs: now(),
          expiresAtMs,
        };
        tracked.set(intent.id, t);
      }
      t.smscIds[part] = smscId;
      if (t.states[part] === 'queued') t.states[part] = 'submitted';
      // Once per accepted part: built by hand (the SMSC's id is the only string from outside).
      append(
        `{"t":"S","id":${JSON.stringify(intent.id)},"p":${part},"s":${JSON.stringify(smscId)},"x":${expiresAtMs},"ts":${t.submittedAtMs}}\n`,
      );
    },
    partState(id, part, state) {
      const t = tracked.get(id);
      if (closed || !t) return;
      t.states[part] = state;
      append(`${JSON.stringify({ t: 'P', id, p: part, st: state })}\n`);
    },
    untrack(id) {
      if (closed || !tracked.delete(id)) return;
      append(`${JSON.stringify({ t: 'F', id })}\n`);
    },
    synced() {
      if (closed) return Promise.reject(new AppError('DELIVERY_UNKNOWN', 'outbox is closed'));
      if (buffer.length === 0 && !flushing) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiters.push({ resolve, reject });
        schedule();
      });
    },
    enqueue(order) {
      if (closed) return Promise.reject(new AppError('DELIVERY_UNKNOWN', 'outbox is closed'));
      if (keys.has(order.key)) {
        return Promise.reject(new AppError('VERSION_CONFLICT', 'idempotency key already used'));
      }
      keys.add(order.key, order.tsMs);
      openQueued.set(order.id, order);
      return commit({ t: 'Q', q: order });
    },
    intend(intent) {
      if (closed) return Promise.reject(new AppError('DELIVERY_UNKNOWN', 'outbox is closed'));
      const known = keys.has(intent.key);
      // The key is taken unless this is the intent of the very order that took it.
      const ownOrder = openQueued.get(intent.id)?.key === intent.key && !openIntents.has(intent.id);
      if (known && !ownOrder) {
        return Promise.reject(new AppError('VERSION_CONFLICT', 'idempotency key already used'));
      }
      keys.add(intent.key, intent.tsMs);
      openIntents.set(intent.id, intent);
      // Most intents follow their own queued order: then only what the order lacks is written
      // (a third of the bytes; the journal write is on the path of every window slot).
      const q = ownOrder ? openQueued.get(intent.id) : undefined;
      if (q && sameMessage(intentOf(q, intent.parts, intent.encoding), intent)) {
        return commitLine(
          `{"t":"I","id":${JSON.stringify(intent.id)},"p":${intent.parts},"e":${JSON.stringify(intent.encoding)}}\n`,
        );
      }
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
