import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DateTime } from 'luxon';
import {
  buildWeekMask,
  createDecisionEngine,
  createPromoCodes,
  createZoneOffsets,
  type Decision,
  inMask,
  localDayOf,
  policySchema,
} from '../../../src/campaigns/index.ts';
import { buildCampaign, buildConsent, buildFence, measure } from './builders.ts';

const at = (iso: string) => DateTime.fromISO(iso, { setZone: true }).toMillis();

test('offsets follow every DST change of several zones for 16 years, to the minute', () => {
  for (const zone of [
    'Europe/Kyiv',
    'America/New_York',
    'Australia/Lord_Howe',
    'America/Santiago',
    'Asia/Kolkata',
  ]) {
    const z = createZoneOffsets(zone);
    for (let t = Date.UTC(2016, 0, 1); t < Date.UTC(2032, 0, 1); t += 37 * 60_000 + 11_000) {
      assert.equal(
        z.offsetMs(t),
        DateTime.fromMillis(t, { zone }).offset * 60_000,
        `${zone} at ${new Date(t).toISOString()}`,
      );
    }
  }
});

test('a 09:00–10:00 window is one hour long in wall-clock time on both DST change days in Kyiv', () => {
  const zone = createZoneOffsets('Europe/Kyiv');
  const mask = buildWeekMask(['sun'], [{ from: '09:00', to: '10:00' }]);
  // 2026-03-29 (clocks go forward at 03:00) and 2026-10-25 (back at 04:00) are Sundays.
  for (const day of ['2026-03-29', '2026-10-25']) {
    assert.equal(
      inMask(mask, zone, at(`${day}T08:59:59+03:00`) - (day.endsWith('25') ? 3_600_000 : 0)),
      false,
    );
    const nine = DateTime.fromISO(`${day}T09:00`, { zone: 'Europe/Kyiv' }).toMillis();
    assert.equal(inMask(mask, zone, nine), true, `${day} 09:00`);
    assert.equal(inMask(mask, zone, nine + 3_599_999), true, `${day} 09:59:59`);
    assert.equal(inMask(mask, zone, nine + 3_600_000), false, `${day} 10:00`);
  }
});

test('quiet hours 21:00–09:00 cover the repeated hour at the autumn change and skip the missing one in spring', () => {
  const zone = createZoneOffsets('America/New_York');
  const quiet = buildWeekMask(
    ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
    [{ from: '21:00', to: '09:00' }],
  );
  // 2026-11-01 01:30 happens twice in New York; both are inside quiet hours.
  assert.equal(inMask(quiet, zone, at('2026-11-01T01:30:00-04:00')), true);
  assert.equal(inMask(quiet, zone, at('2026-11-01T01:30:00-05:00')), true);
  assert.equal(inMask(quiet, zone, at('2026-11-01T08:59:00-05:00')), true);
  assert.equal(inMask(quiet, zone, at('2026-11-01T09:00:00-05:00')), false);
  // 2026-03-08: 02:00 → 03:00; 03:00 EDT is 07:00 UTC and still quiet, 09:00 EDT is not.
  assert.equal(inMask(quiet, zone, at('2026-03-08T03:00:00-04:00')), true);
  assert.equal(inMask(quiet, zone, at('2026-03-08T09:00:00-04:00')), false);
  assert.equal(inMask(quiet, zone, at('2026-03-08T20:59:00-04:00')), false);
});

test('a window that crosses midnight belongs to the day it starts on', () => {
  const zone = createZoneOffsets('Europe/Kyiv');
  const mask = buildWeekMask(['fri'], [{ from: '22:00', to: '02:00' }]);
  assert.equal(inMask(mask, zone, at('2026-11-27T23:00:00+02:00')), true); // Friday night
  assert.equal(inMask(mask, zone, at('2026-11-28T01:59:00+02:00')), true); // Saturday early, Friday's window
  assert.equal(inMask(mask, zone, at('2026-11-28T23:00:00+02:00')), false); // Saturday night
  assert.equal(inMask(mask, zone, at('2026-11-27T01:00:00+02:00')), false); // Thursday's window is not listed
});

test('the daily budget resets at local midnight of the campaign zone, not at UTC midnight', () => {
  const zone = createZoneOffsets('Asia/Kolkata');
  assert.equal(
    localDayOf(zone, at('2026-11-23T18:29:00Z')),
    localDayOf(zone, at('2026-11-23T00:00:00+05:30')),
  );
  assert.notEqual(localDayOf(zone, at('2026-11-23T18:31:00Z')), localDayOf(zone, at('2026-11-23T18:29:00Z')));
});

test('a proximity offer in quiet hours of the fence zone is skipped with reason quiet_hours, not held', () => {
  const consent = buildConsent(['s1']);
  const engine = createDecisionEngine({
    inSegment: () => true,
    consent,
    measure,
    promoCodes: createPromoCodes(),
  });
  engine.setPolicy(policySchema.parse({}));
  engine.setCampaigns(
    [
      buildCampaign({
        schedule: { start: '2026-01-01T00:00:00Z', end: '2027-01-01T00:00:00Z', timeZone: 'UTC' },
      }),
    ],
    [buildFence({ timeZone: 'Asia/Tokyo' })],
  );
  const out: Decision[] = [];
  // 13:00 UTC is 22:00 in Tokyo: quiet there, though the campaign's own UTC schedule is open.
  const now = at('2026-11-23T13:00:00Z');
  engine.decide({ kind: 'enter', sid: 's1', fenceId: 'f1', tsMs: now, dwellMs: 0 }, now, out);
  assert.deepEqual(
    out.map((d) => [d.outcome, d.reason]),
    [['suppressed', 'quiet_hours']],
  );
  out.length = 0;
  const morning = at('2026-11-24T00:30:00Z'); // 09:30 Tokyo
  engine.decide({ kind: 'enter', sid: 's1', fenceId: 'f1', tsMs: morning, dwellMs: 0 }, morning, out);
  assert.deepEqual(
    out.map((d) => d.outcome),
    ['sent'],
  );
});

test('schedule and quiet-hour answers cached per UTC minute match a fresh engine at every step across window edges and DST changes', () => {
  // Zones with a DST change in the stretch, one with a 30-minute offset; windows and quiet hours edge at odd minutes.
  const zones = ['Europe/Kyiv', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'];
  const fences = zones.map((timeZone, i) => buildFence({ id: `f${i}`, timeZone }));
  const campaigns = zones.map((timeZone, i) =>
    buildCampaign({
      id: `c${i}`,
      fences: { ids: fences.map((f) => f.id) },
      schedule: {
        start: '2026-01-01T00:00:00Z',
        end: '2027-01-01T00:00:00Z',
        timeZone,
        days: ['sat', 'sun', 'mon'],
        hours: [
          { from: '01:17', to: '03:43' },
          { from: '22:59', to: '00:01' },
        ],
      },
    }),
  );
  const policy = policySchema.parse({ quietHours: { from: '02:30', to: '02:50' } });
  const build = () => {
    const e = createDecisionEngine({
      inSegment: () => false,
      consent: buildConsent(),
      measure,
      promoCodes: createPromoCodes(),
    });
    e.setCampaigns(campaigns, fences);
    e.setPolicy(policy);
    return e;
  };
  const cached = build();
  const reference = build();
  const reasons = (e: ReturnType<typeof build>, fenceId: string, now: number) => {
    const out: Decision[] = [];
    e.decide({ kind: 'enter', sid: 'aa11', fenceId, tsMs: now, dwellMs: 0 }, now, out);
    return out.map((d) => `${d.campaignId}:${d.reason}`).join(' ');
  };
  // Around the 2026-10-25 (Europe) and 2026-11-01 (New York) changes, in steps of 0–90 s.
  let seen = 0;
  for (const start of [at('2026-10-24T20:00:00Z'), at('2026-10-31T20:00:00Z')]) {
    let now = start;
    let seed = 1;
    while (now < start + 16 * 3_600_000) {
      seed = (seed * 48_271) % 2_147_483_647;
      now += seed % 90_000;
      const fenceId = fences[seed % fences.length].id;
      // a reload and a policy change start the reference's caches afresh
      reference.setCampaigns(campaigns, fences);
      reference.setPolicy(policy);
      assert.equal(
        reasons(cached, fenceId, now),
        reasons(reference, fenceId, now),
        new Date(now).toISOString(),
      );
      seen++;
    }
  }
  assert.ok(seen > 1_000);
});
