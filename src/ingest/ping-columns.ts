/**
 * Decoded pings of one batch in columns (the ingest worker's form: no object per ping). `index[i]` is
 * the message index of ping `i` in its batch. Reused from batch to batch: `n` is the count.
 */
export interface PingColumns {
  n: number;
  sid: string[];
  lon: Float64Array;
  lat: Float64Array;
  acc: Float64Array;
  ts: Float64Array;
  index: Int32Array;
}

export function createPingColumns(capacity = 1_024): PingColumns {
  return {
    n: 0,
    sid: new Array<string>(capacity).fill(''),
    lon: new Float64Array(capacity),
    lat: new Float64Array(capacity),
    acc: new Float64Array(capacity),
    ts: new Float64Array(capacity),
    index: new Int32Array(capacity),
  };
}

/** Makes room for `count` pings (drops the current ones). */
export function reservePingColumns(c: PingColumns, count: number): void {
  c.n = 0;
  if (c.lon.length >= count) return;
  const cap = Math.max(count, c.lon.length * 2);
  c.sid = new Array<string>(cap).fill('');
  c.lon = new Float64Array(cap);
  c.lat = new Float64Array(cap);
  c.acc = new Float64Array(cap);
  c.ts = new Float64Array(cap);
  c.index = new Int32Array(cap);
}
