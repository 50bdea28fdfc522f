import { IANAZone } from 'luxon';
import { AppError } from '../errors.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
// Offset samples every 6 h; a transition between two samples is then located to the minute.
const SAMPLE_MS = 6 * HOUR_MS;
// Each extension covers this much around the instant that fell outside the known range.
const EXTEND_MS = 400 * DAY_MS;

/**
 * UTC offsets of one IANA zone as a piecewise-constant table: `starts[i]` (UTC ms) is where
 * `offsets[i]` (minutes) begins. The hot path reads it with a binary search; no DateTime is built.
 */
export interface ZoneOffsets {
  readonly zone: string;
  /** Offset from UTC in ms at instant `tMs` (local wall time = tMs + offset). */
  offsetMs(tMs: number): number;
  /** Local wall-clock ms of `tMs` (the UTC instant plus the zone's offset then). */
  localMs(tMs: number): number;
}

/** True when `zone` is an IANA zone name the runtime knows. */
export function isValidZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

/** Builds the offset table of `zone`; it extends itself (amortised, rarely) when asked outside its range. */
export function createZoneOffsets(zone: string): ZoneOffsets {
  if (!IANAZone.isValidZone(zone)) throw new AppError('CAMPAIGN_INVALID', `unknown time zone ${zone}`);
  const iana = IANAZone.create(zone);
  const off = (t: number): number => iana.offset(t) * 60_000;
  let lo = 0;
  let hi = 0;
  let starts: number[] = [];
  let offsets: number[] = [];

  // Finds the first ms in (a, b] whose offset differs from a's, to the minute.
  const transition = (a: number, b: number): number => {
    const oa = off(a);
    while (b - a > 60_000) {
      const mid = a + Math.floor((b - a) / 2 / 60_000) * 60_000;
      if (off(mid) === oa) a = mid;
      else b = mid;
    }
    return b;
  };

  const build = (from: number, to: number): void => {
    const s: number[] = [from];
    const o: number[] = [off(from)];
    let a = from;
    while (a < to) {
      const b = Math.min(a + SAMPLE_MS, to);
      if (off(b) !== o[o.length - 1]) {
        const at = transition(a, b);
        s.push(at);
        o.push(off(at));
        a = at;
      } else {
        a = b;
      }
    }
    lo = from;
    hi = to;
    starts = s;
    offsets = o;
  };

  const ensure = (t: number): void => {
    const empty = lo === hi;
    let from = Math.floor((Math.min(t, empty ? t : lo) - EXTEND_MS) / HOUR_MS) * HOUR_MS;
    let to = Math.ceil((Math.max(t, empty ? t : hi) + EXTEND_MS) / HOUR_MS) * HOUR_MS;
    // Keep the table bounded: when far from the old range, start afresh around t.
    if (to - from > 20 * 365 * DAY_MS) {
      from = Math.floor((t - EXTEND_MS) / HOUR_MS) * HOUR_MS;
      to = Math.ceil((t + EXTEND_MS) / HOUR_MS) * HOUR_MS;
    }
    build(from, to);
  };

  const offsetMs = (tMs: number): number => {
    if (tMs < lo || tMs >= hi) ensure(tMs);
    let a = 0;
    let b = starts.length - 1;
    while (a < b) {
      const m = (a + b + 1) >>> 1;
      if (starts[m] <= tMs) a = m;
      else b = m - 1;
    }
    return offsets[a];
  };

  return { zone, offsetMs, localMs: (tMs) => tMs + offsetMs(tMs) };
}

/** Shares one offset table per zone between campaigns, fences and the policy. */
export function createZoneCache(): (zone: string) => ZoneOffsets {
  const cache = new Map<string, ZoneOffsets>();
  return (zone) => {
    let z = cache.get(zone);
    if (!z) {
      z = createZoneOffsets(zone);
      cache.set(zone, z);
    }
    return z;
  };
}
