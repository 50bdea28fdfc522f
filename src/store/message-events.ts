import type { Store } from './types.ts';

/** The identity of one message_events row as stored (ts in ms since epoch). */
export interface StoredEventId {
  message_id: string;
  event: string;
  detail: string;
  ts: number;
}

// Ids per query: keeps the IN list well under the server's query size limit.
const CHUNK = 5_000;

/**
 * The message_events rows the store holds for these messages: what rows written again after a crash
 * are checked against, so each event is counted once.
 */
export async function storedEventIds(store: Store, messageIds: readonly string[]): Promise<StoredEventId[]> {
  const out: StoredEventId[] = [];
  for (let i = 0; i < messageIds.length; i += CHUNK) {
    const rows = await store.query<{ message_id: string; event: string; detail: string; ts: string }>(
      `SELECT message_id, event, detail, toUnixTimestamp64Milli(ts) AS ts FROM ${store.database}.message_events
       WHERE message_id IN {ids:Array(String)}`,
      { ids: messageIds.slice(i, i + CHUNK) },
    );
    for (const r of rows)
      out.push({ message_id: r.message_id, event: r.event, detail: r.detail, ts: Number(r.ts) });
  }
  return out;
}
