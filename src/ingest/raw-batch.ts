/** A Kafka message as the ping source reads it: the bytes only. */
export interface RawMessage {
  key: Buffer | null;
  value: Buffer | null;
}

/**
 * A batch of messages copied into one transferable buffer: `bytes` holds every key and value back to
 * back; `at` holds four int32 per message — key start, key end, value start, value end (start -1:
 * null). One copy and one postMessage per batch instead of one per message.
 */
export interface RawBatch {
  bytes: ArrayBuffer;
  at: Int32Array;
  count: number;
}

/** Packs messages into a RawBatch (see there). */
export function packRawBatch(messages: readonly RawMessage[]): RawBatch {
  const n = messages.length;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const m = messages[i];
    if (m.key !== null) total += m.key.length;
    if (m.value !== null) total += m.value.length;
  }
  const bytes = new ArrayBuffer(total);
  const u8 = new Uint8Array(bytes);
  const at = new Int32Array(n * 4);
  let off = 0;
  for (let i = 0; i < n; i++) {
    const { key, value } = messages[i];
    const j = i * 4;
    if (key === null) at[j] = at[j + 1] = -1;
    else {
      u8.set(key, off);
      at[j] = off;
      off += key.length;
      at[j + 1] = off;
    }
    if (value === null) at[j + 2] = at[j + 3] = -1;
    else {
      u8.set(value, off);
      at[j + 2] = off;
      off += value.length;
      at[j + 3] = off;
    }
  }
  return { bytes, at, count: n };
}
