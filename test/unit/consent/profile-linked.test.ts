import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRandom } from '../../../bench/lib/random.ts';
import { entryCampaign, entryTime, historyLength } from '../../../src/campaigns/counters.ts';
import { type Counters, createCounters } from '../../../src/campaigns/index.ts';
import { createConsentEngine } from '../../../src/consent/index.ts';
import { createLogger } from '../../../src/logger.ts';
import { createProfileStore, generateSubscribers } from '../../../src/segments/index.ts';

// Consent kept in the profile slots (`profiles` given) against the plain engine (every record in its
// own sid table): the same answers for every sid after every change, while profiles are deleted, their
// slots handed to other sids, reloaded, and consent arrives before, after or without a profile. The
// entries differ by design (profile slots, taken back on delete, against table entries kept for ever):
// the campaign counters keyed by each engine's entries must hold the same send history for every sid.

const logger = createLogger({ level: 'silent' });
const rec = { source: 'test', evidence: 'test' };
const DAY_MS = 86_400_000;

/** sid's history as [time, campaign key] pairs, oldest first. */
function history(c: Counters, sid: string, entry: number): number[][] {
  const off = c.historyOf(sid, entry);
  if (off < 0) return [];
  const out: number[][] = [];
  for (let i = 0; i < historyLength(c.pool, off); i++)
    out.push([entryTime(c.pool, off, i), entryCampaign(c.pool, off, i)]);
  return out;
}

test('linked consent answers check, canSend and get like the plain engine, and counters keyed by its entries hold the same histories', () => {
  const r = createRandom(5);
  const profiles = createProfileStore({ capacity: 16 });
  const generated = [...generateSubscribers({ seed: 5, count: 400 })];
  const sids = generated.map((p) => p.sid);
  // no profile ever: ASCII, one the compact table cannot hold, one of 64 characters
  const others = ['mo-only-1', 'mo-only-2', 'ü-9', 'Z'.repeat(64)];
  const all = [...sids, ...others];
  const plain = createConsentEngine({ logger, expectedSubscribers: 4 });
  const linked = createConsentEngine({ logger, expectedSubscribers: 4, profiles });
  const plainCounters = createCounters(400 * DAY_MS);
  const linkedCounters = createCounters(400 * DAY_MS);
  linked.onEntryReleased((entry, sid) => linkedCounters.release(entry, sid));
  let sends = 0;
  // consent rows loaded before any profile exists (the service restores consent, profiles stream in)
  const rows = all
    .filter(() => r.chance(0.3))
    .map((sid) => ({ sid, status: r.chance(0.8) ? 'opt_in' : 'opt_out', tsMs: r.int(1, 1_000) }));
  plain.load(rows, [{ sid: sids[1], tenant: 't1', untilMs: 5_000, tsMs: 1 }]);
  linked.load(rows, [{ sid: sids[1], tenant: 't1', untilMs: 5_000, tsMs: 1 }]);
  const blocked = [sids[2], 'mo-only-1'];
  plain.setBlocklist(blocked);
  linked.setBlocklist(blocked);
  const live = new Set<string>();
  let now = 2_000;
  const compare = (sid: string) => {
    for (const tenant of ['t1', 't2']) {
      assert.equal(linked.check(sid, tenant, now), plain.check(sid, tenant, now), `check ${sid} ${tenant}`);
      assert.equal(linked.canSend(sid, tenant, now), plain.canSend(sid, tenant, now), `canSend ${sid}`);
    }
    // the entry is the profile slot, or none without a profile
    const entry = linked.entryOf(sid);
    assert.equal(entry, profiles.slotOf(sid), `entryOf ${sid}`);
    assert.deepEqual(linked.get(sid), plain.get(sid));
    assert.deepEqual(
      history(linkedCounters, sid, entry),
      history(plainCounters, sid, plain.entryOf(sid)),
      `history of ${sid}`,
    );
  };
  for (let step = 0; step < 20_000; step++) {
    now += r.int(0, 3_600_000);
    const sid = r.pick(all);
    const op = r.int(0, 9);
    if (op <= 2 && sids.includes(sid)) {
      // add, reload (same sid, new attributes) or delete a profile; a delete frees the slot for the next add
      if (live.has(sid) && r.chance(0.5)) {
        profiles.delete(sid);
        live.delete(sid);
      } else {
        const { sid: _s, ...attrs } = generated[r.int(0, generated.length - 1)];
        profiles.upsert(sid, attrs);
        live.add(sid);
      }
    } else if (op === 3) {
      plain.optIn(sid, rec, now);
      linked.optIn(sid, rec, now);
    } else if (op === 4) {
      assert.equal(linked.optOut(sid, rec, now), plain.optOut(sid, rec, now));
    } else if (op === 5) {
      plain.declineBrand(sid, 't2', 'c', 'NO', now);
      linked.declineBrand(sid, 't2', 'c', 'NO', now);
    } else if (op === 6) {
      // a declined brand's suppression runs out
      now += 30 * DAY_MS;
    } else {
      // a send recorded as the decision engine does: keyed by the engine's entry for the sid
      const key = r.int(0, 5);
      plainCounters.record(sid, plain.entryOf(sid), key, 1, now);
      linkedCounters.record(sid, linked.entryOf(sid), key, 1, now);
      sends++;
    }
    // the sid just touched, then a few others in a row (the one-entry caches see other sids between)
    compare(sid);
    for (let k = 0; k < 3; k++) compare(r.pick(all));
  }
  assert.equal(linked.size, plain.size);
  assert.ok(profiles.size > 50, 'profiles were live during the run');
  assert.ok(sends > 1_000, 'sends were recorded');
  assert.equal(linkedCounters.subscribers, plainCounters.subscribers);
});

test('a profile slot handed to another subscriber carries none of the previous one’s consent or sends', () => {
  const profiles = createProfileStore({ capacity: 16 });
  const consent = createConsentEngine({ logger, profiles });
  const counters = createCounters();
  const released: string[] = [];
  consent.onEntryReleased((entry, sid) => {
    released.push(`${entry}:${sid}`);
    counters.release(entry, sid);
  });
  profiles.upsert('aaaa0001', {});
  consent.optIn('aaaa0001', rec, 1_000);
  const slot = profiles.slotOf('aaaa0001');
  assert.equal(consent.entryOf('aaaa0001'), slot);
  counters.record('aaaa0001', slot, 1, 1, 1_000);
  assert.equal(consent.check('aaaa0001', 't', 1_000), '');
  profiles.delete('aaaa0001');
  assert.deepEqual(released, [`${slot}:aaaa0001`]);
  // without a profile: no entry, the record and the send history kept by sid
  assert.equal(consent.entryOf('aaaa0001'), -1);
  assert.equal(consent.check('aaaa0001', 't', 1_500), '');
  assert.equal(history(counters, 'aaaa0001', -1).length, 1);
  // the next subscriber gets the freed slot and has no consent and no sends
  assert.equal(profiles.upsert('bbbb0002', {}), slot);
  assert.equal(consent.entryOf('bbbb0002'), slot);
  assert.equal(consent.check('bbbb0002', 't', 2_000), 'no_consent');
  assert.deepEqual(history(counters, 'bbbb0002', slot), []);
  consent.optIn('bbbb0002', rec, 3_000);
  assert.equal(consent.check('bbbb0002', 't', 3_000), '');
  // the first subscriber opts out without a profile, comes back in another slot with its state
  consent.optOut('aaaa0001', rec, 4_000);
  assert.equal(consent.check('bbbb0002', 't', 4_000), '');
  const back = profiles.upsert('aaaa0001', {});
  assert.notEqual(back, slot);
  assert.equal(consent.entryOf('aaaa0001'), back);
  assert.equal(consent.check('aaaa0001', 't', 4_000), 'opted_out');
  assert.deepEqual(history(counters, 'aaaa0001', back), [[1_000, 1]]);
  assert.deepEqual(consent.get('aaaa0001'), { status: 'opt_out', tsMs: 4_000, declines: [] });
  // an unknown subscriber with a profile and no record: no consent until it opts in
  profiles.upsert('cccc0003', {});
  assert.equal(consent.check('cccc0003', 't', 5_000), 'no_consent');
  consent.optIn('cccc0003', rec, 5_000);
  assert.equal(consent.check('cccc0003', 't', 5_000), '');
  assert.equal(consent.size, 3);
  // a cleared store forgets the slots, consent stays
  profiles.clear();
  assert.equal(consent.check('cccc0003', 't', 6_000), '');
  assert.equal(consent.check('aaaa0001', 't', 6_000), 'opted_out');
  assert.equal(consent.entryOf('cccc0003'), -1);
  assert.equal(consent.size, 3);
  assert.deepEqual(history(counters, 'aaaa0001', -1), [[1_000, 1]]);
});
