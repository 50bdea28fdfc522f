import { EXIT_CAUSES, type FootfallVisit, PRESENCE_KINDS, type PresenceEvent } from '../presence/index.ts';

/**
 * Presence events in columns, as the ingest worker sends them: structured clone writes every key of
 * every object, so a batch of objects cost the receiving thread several times what columns do.
 * thresholdMs NaN = none; cause 0 = none, else EXIT_CAUSES index + 1.
 */
export interface EventColumns {
  n: number;
  kind: Uint8Array;
  sid: string[];
  fenceId: string[];
  tsMs: Float64Array;
  dwellMs: Float64Array;
  thresholdMs: Float64Array;
  cause: Uint8Array;
}

/** Footfall rows in columns (see EventColumns). */
export interface RowColumns {
  n: number;
  ts: Float64Array;
  sid: string[];
  tenant: string[];
  fenceId: string[];
  storeId: string[];
}

const KIND_CODE = Object.fromEntries(PRESENCE_KINDS.map((k, i) => [k, i])) as Record<string, number>;
const CAUSE_CODE = Object.fromEntries(EXIT_CAUSES.map((c, i) => [c, i + 1])) as Record<string, number>;

/** Collects events into columns; `take` hands them over and starts afresh. */
export function createEventCollector() {
  let cap = 256;
  let kind = new Uint8Array(cap);
  let tsMs = new Float64Array(cap);
  let dwellMs = new Float64Array(cap);
  let thresholdMs = new Float64Array(cap);
  let cause = new Uint8Array(cap);
  let sid: string[] = [];
  let fenceId: string[] = [];
  let n = 0;
  const grow = () => {
    cap *= 2;
    const k = new Uint8Array(cap);
    k.set(kind);
    kind = k;
    const t = new Float64Array(cap);
    t.set(tsMs);
    tsMs = t;
    const d = new Float64Array(cap);
    d.set(dwellMs);
    dwellMs = d;
    const th = new Float64Array(cap);
    th.set(thresholdMs);
    thresholdMs = th;
    const c = new Uint8Array(cap);
    c.set(cause);
    cause = c;
  };
  return {
    push(e: PresenceEvent) {
      if (n === cap) grow();
      kind[n] = KIND_CODE[e.kind];
      tsMs[n] = e.tsMs;
      dwellMs[n] = e.dwellMs;
      thresholdMs[n] = e.thresholdMs ?? Number.NaN;
      cause[n] = e.cause === undefined ? 0 : CAUSE_CODE[e.cause];
      sid.push(e.sid);
      fenceId.push(e.fenceId);
      n++;
    },
    take(): EventColumns {
      const out: EventColumns = {
        n,
        kind: kind.slice(0, n),
        sid,
        fenceId,
        tsMs: tsMs.slice(0, n),
        dwellMs: dwellMs.slice(0, n),
        thresholdMs: thresholdMs.slice(0, n),
        cause: cause.slice(0, n),
      };
      n = 0;
      sid = [];
      fenceId = [];
      return out;
    },
  };
}

/** Event `i` of the columns as a PresenceEvent (optional fields only when set, as presence emits them). */
export function eventAt(c: EventColumns, i: number): PresenceEvent {
  const e: PresenceEvent = {
    kind: PRESENCE_KINDS[c.kind[i]],
    sid: c.sid[i],
    fenceId: c.fenceId[i],
    tsMs: c.tsMs[i],
    dwellMs: c.dwellMs[i],
  };
  const th = c.thresholdMs[i];
  if (!Number.isNaN(th)) e.thresholdMs = th;
  const cause = c.cause[i];
  if (cause !== 0) e.cause = EXIT_CAUSES[cause - 1];
  return e;
}

/** Collects footfall rows into columns; `take` hands them over and starts afresh. */
export function createRowCollector() {
  let ts: number[] = [];
  let sid: string[] = [];
  let tenant: string[] = [];
  let fenceId: string[] = [];
  let storeId: string[] = [];
  return {
    push(r: FootfallVisit) {
      ts.push(r.ts);
      sid.push(r.sid);
      tenant.push(r.tenant);
      fenceId.push(r.fence_id);
      storeId.push(r.store_id);
    },
    take(): RowColumns {
      const out: RowColumns = { n: ts.length, ts: Float64Array.from(ts), sid, tenant, fenceId, storeId };
      ts = [];
      sid = [];
      tenant = [];
      fenceId = [];
      storeId = [];
      return out;
    },
  };
}

/** Row `i` of the columns as a footfall_visits row. */
export function rowAt(c: RowColumns, i: number): FootfallVisit {
  return { ts: c.ts[i], sid: c.sid[i], tenant: c.tenant[i], fence_id: c.fenceId[i], store_id: c.storeId[i] };
}
