import { DateTime } from 'luxon';
import { AppError } from '../errors.ts';
import { minutesOf, WEEKDAYS, type Weekday } from './schema.ts';
import type { ZoneOffsets } from './zone-offsets.ts';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const WEEK_MINUTES = 7 * 1440;

/**
 * A set of local week-minutes (Monday 00:00 = 0 … Sunday 23:59 = 10079) as a bitmap, so "is this
 * instant inside the windows?" is an offset lookup plus one bit test. A window whose `to` is before
 * its `from` runs past midnight into the next day; the day it starts on is the one that must be listed.
 */
export interface WeekMask {
  readonly bits: Uint32Array;
  /** Empty mask: nothing allowed. Full: everything. */
  readonly full: boolean;
}

/** Builds the mask of `days` × `windows` ('HH:MM', to < from wraps past midnight). */
export function buildWeekMask(
  days: readonly Weekday[],
  windows: readonly { from: string; to: string }[],
): WeekMask {
  const bits = new Uint32Array(Math.ceil(WEEK_MINUTES / 32));
  for (const day of days) {
    const d = WEEKDAYS.indexOf(day);
    for (const w of windows) {
      const from = minutesOf(w.from);
      let to = minutesOf(w.to);
      if (to <= from) to += 1440;
      for (let m = from; m < to; m++) {
        const i = (d * 1440 + m) % WEEK_MINUTES;
        bits[i >>> 5] |= 1 << (i & 31);
      }
    }
  }
  let full = true;
  for (let i = 0; i < WEEK_MINUTES; i++) if (!(bits[i >>> 5] & (1 << (i & 31)))) full = false;
  return { bits, full };
}

/** Week-minute of a local wall-clock ms (1970-01-01 was a Thursday: day 0 → index 3). */
export function weekMinuteOf(localMs: number): number {
  const day = Math.floor(localMs / DAY_MS);
  const minute = Math.floor((localMs - day * DAY_MS) / MINUTE_MS);
  return ((((day + 3) % 7) + 7) % 7) * 1440 + minute;
}

/** True when instant `tMs` falls inside `mask` in the zone of `zone`. */
export function inMask(mask: WeekMask, zone: ZoneOffsets, tMs: number): boolean {
  if (mask.full) return true;
  const i = weekMinuteOf(zone.localMs(tMs));
  return (mask.bits[i >>> 5] & (1 << (i & 31))) !== 0;
}

/** Local day number (days since 1970-01-01 in the zone): the key of daily budgets. */
export function localDayOf(zone: ZoneOffsets, tMs: number): number {
  return Math.floor(zone.localMs(tMs) / DAY_MS);
}

/**
 * The first instant ≥ tMs at which `allowed` holds, searching minute by minute up to `limitMs`
 * (for follow-ups waiting out quiet hours; not a hot path). Undefined when there is none.
 */
export function nextAllowed(
  tMs: number,
  limitMs: number,
  allowed: (t: number) => boolean,
): number | undefined {
  if (allowed(tMs)) return tMs;
  let t = Math.floor(tMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  for (; t < limitMs && t - tMs <= 9 * DAY_MS; t += MINUTE_MS) if (allowed(t)) return t;
  return undefined;
}

/** Parses a schedule bound: an ISO instant with an offset, or a local date-time read in `timeZone`. */
export function parseInstant(iso: string, timeZone: string): number {
  const dt = DateTime.fromISO(iso, { zone: timeZone, setZone: false });
  if (!dt.isValid)
    throw new AppError('CAMPAIGN_INVALID', `invalid date-time ${iso}: ${dt.invalidExplanation}`);
  return dt.toMillis();
}
