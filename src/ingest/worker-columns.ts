import { EXIT_CAUSES, type FootfallVisit, PRESENCE_KINDS, type PresenceEvent } from '../presence/index.ts';

/**
 * What one ingest-worker answer carries back: presence events and footfall rows in columns, their
 * strings (sids, fence, store and tenant ids) once each in `strings`, columns holding indices into it.
 * Structured clone writes every key of every object and every string separately: a batch's events as
 * objects cost the worker (serialising) and the main thread (reading) several times what this does.
 */
export interface WorkerOutputs {
  strings: string[];
  events: EventColumns;
  rows: RowColumns;
}

/** thresholdMs NaN = none; cause 0 = none, else EXIT_CAUSES index + 1; sid and fenceId index `strings`. */
export interface EventColumns {
  n: number;
  kind: Uint8Array;
  sid: Int32Array;
  fenceId: Int32Array;
  tsMs: Float64Array;
  dwellMs: Float64Array;
  thresholdMs: Float64Array;
  cause: Uint8Array;
}

/** Footfall rows; sid, tenant, fenceId and storeId index `strings`. */
export interface RowColumns {
  n: number;
  ts: Float64Array;
  sid: Int32Array;
  tenant: Int32Array;
  fenceId: Int32Array;
  storeId: Int32Array;
}

const KIND_CODE = Object.fromEntries(PRESENCE_KINDS.map((k, i) => [k, i])) as Record<string, number>;
const CAUSE_CODE = Object.fromEntries(EXIT_CAUSES.map((c, i) => [c, i + 1])) as Record<string, number>;

/** Collects one answer's events and rows (see WorkerOutputs); `take` hands them over and starts afresh. */
export function createOutputCollector() {
  let strings: string[] = [];
  // One ping's events and footfall rows come one after another and repeat its sid and fence ids: each
  // column reuses its previous string when it is the same (a Map per string cost more than sending it).
  const column = () => {
    let last = '';
    let at = -1;
    return {
      index(s: string) {
        if (at < 0 || s !== last) {
          last = s;
          at = strings.length;
          strings.push(s);
        }
        return at;
      },
      reset() {
        at = -1;
      },
    };
  };
  const sids = column();
  const fences = column();
  const tenants = column();
  const stores = column();
  let ecap = 256;
  let en = 0;
  let kind = new Uint8Array(ecap);
  let esid = new Int32Array(ecap);
  let efence = new Int32Array(ecap);
  let tsMs = new Float64Array(ecap);
  let dwellMs = new Float64Array(ecap);
  let thresholdMs = new Float64Array(ecap);
  let cause = new Uint8Array(ecap);
  let rcap = 256;
  let rn = 0;
  let rts = new Float64Array(rcap);
  let rsid = new Int32Array(rcap);
  let rtenant = new Int32Array(rcap);
  let rfence = new Int32Array(rcap);
  let rstore = new Int32Array(rcap);

  const growEvents = () => {
    ecap *= 2;
    kind = grown(kind, new Uint8Array(ecap));
    esid = grown(esid, new Int32Array(ecap));
    efence = grown(efence, new Int32Array(ecap));
    tsMs = grown(tsMs, new Float64Array(ecap));
    dwellMs = grown(dwellMs, new Float64Array(ecap));
    thresholdMs = grown(thresholdMs, new Float64Array(ecap));
    cause = grown(cause, new Uint8Array(ecap));
  };
  const growRows = () => {
    rcap *= 2;
    rts = grown(rts, new Float64Array(rcap));
    rsid = grown(rsid, new Int32Array(rcap));
    rtenant = grown(rtenant, new Int32Array(rcap));
    rfence = grown(rfence, new Int32Array(rcap));
    rstore = grown(rstore, new Int32Array(rcap));
  };

  return {
    event(e: PresenceEvent) {
      if (en === ecap) growEvents();
      kind[en] = KIND_CODE[e.kind];
      esid[en] = sids.index(e.sid);
      efence[en] = fences.index(e.fenceId);
      tsMs[en] = e.tsMs;
      dwellMs[en] = e.dwellMs;
      thresholdMs[en] = e.thresholdMs ?? Number.NaN;
      cause[en] = e.cause === undefined ? 0 : CAUSE_CODE[e.cause];
      en++;
    },
    row(r: FootfallVisit) {
      if (rn === rcap) growRows();
      rts[rn] = r.ts;
      rsid[rn] = sids.index(r.sid);
      rtenant[rn] = tenants.index(r.tenant);
      rfence[rn] = fences.index(r.fence_id);
      rstore[rn] = stores.index(r.store_id);
      rn++;
    },
    /** The answer so far (its columns are copies sized to fit: transfer `buffers(out)` with it). */
    take(): WorkerOutputs {
      const out: WorkerOutputs = {
        strings,
        events: {
          n: en,
          kind: kind.slice(0, en),
          sid: esid.slice(0, en),
          fenceId: efence.slice(0, en),
          tsMs: tsMs.slice(0, en),
          dwellMs: dwellMs.slice(0, en),
          thresholdMs: thresholdMs.slice(0, en),
          cause: cause.slice(0, en),
        },
        rows: {
          n: rn,
          ts: rts.slice(0, rn),
          sid: rsid.slice(0, rn),
          tenant: rtenant.slice(0, rn),
          fenceId: rfence.slice(0, rn),
          storeId: rstore.slice(0, rn),
        },
      };
      strings = [];
      sids.reset();
      fences.reset();
      tenants.reset();
      stores.reset();
      en = 0;
      rn = 0;
      return out;
    },
  };
}

/** The column buffers of an answer made by `take`, for postMessage's transfer list (no second copy). */
export function outputBuffers(o: WorkerOutputs): ArrayBuffer[] {
  const e = o.events;
  const r = o.rows;
  return [
    e.kind,
    e.sid,
    e.fenceId,
    e.tsMs,
    e.dwellMs,
    e.thresholdMs,
    e.cause,
    r.ts,
    r.sid,
    r.tenant,
    r.fenceId,
    r.storeId,
  ].map((a) => a.buffer as ArrayBuffer);
}

function grown<T extends Uint8Array | Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** Event `i` as a PresenceEvent (optional fields only when set, as presence emits them). */
export function eventAt(o: WorkerOutputs, i: number): PresenceEvent {
  const c = o.events;
  const e: PresenceEvent = {
    kind: PRESENCE_KINDS[c.kind[i]],
    sid: o.strings[c.sid[i]],
    fenceId: o.strings[c.fenceId[i]],
    tsMs: c.tsMs[i],
    dwellMs: c.dwellMs[i],
  };
  const th = c.thresholdMs[i];
  if (!Number.isNaN(th)) e.thresholdMs = th;
  const cause = c.cause[i];
  if (cause !== 0) e.cause = EXIT_CAUSES[cause - 1];
  return e;
}

/** Row `i` as a footfall_visits row. */
export function rowAt(o: WorkerOutputs, i: number): FootfallVisit {
  const c = o.rows;
  const s = o.strings;
  return {
    ts: c.ts[i],
    sid: s[c.sid[i]],
    tenant: s[c.tenant[i]],
    fence_id: s[c.fenceId[i]],
    store_id: s[c.storeId[i]],
  };
}
