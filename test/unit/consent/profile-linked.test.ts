import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRandom } from '../../../bench/lib/random.ts';
import { createConsentEngine } from '../../../src/consent/index.ts';
import { createLogger } from '../../../src/logger.ts';
import { createProfileStore, generateSubscribers } from '../../../src/segments/index.ts';

// Consent with its entries kept beside the profile slots (`profiles` given) against the plain engine
// (every answer from its own sid table): the same answers for every sid after every change, while
// profiles are deleted, their slots handed to other sids, reloaded, and consent arrives before,
// after or without a profile.

const logger = createLogger({ level: 'silent' });
const rec = { source: 'test', evidence: 'test' };
const DAY_MS = 86_400_000;

test('linked consent answers check, entryOf, canSend and get exactly like the plain engine', () => {
  const r = createRandom(5);
  const profiles = createProfileStore({ capacity: 16 });
  const generated = [...generateSubscribers({ seed: 5, count: 400 })];
  const sids = generated.map((p) => p.sid);
  // no profile ever: ASCII, one the compact table cannot hold, one of 64 characters
  const others = ['mo-only-1', 'mo-only-2', 'ü-9', 'Z'.repeat(64)];
  const all = [...sids, ...others];
  const plain = createConsentEngine({ logger, expectedSubscribers: 4 });
  const linked = createConsentEngine({ logger, expectedSubscribers: 4, profiles });
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
    assert.equal(linked.entryOf(sid), plain.entryOf(sid), `entryOf ${sid}`);
    assert.deepEqual(linked.get(sid), plain.get(sid));
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
    }
    // the sid just touched, then a few others in a row (the one-entry caches see other sids between)
    compare(sid);
    for (let k = 0; k < 3; k++) compare(r.pick(all));
  }
  assert.equal(linked.size, plain.size);
  assert.ok(profiles.size > 50, 'profiles were live during the run');
});

test('a profile slot handed to another subscriber never carries the previous one’s consent entry', () => {
  const profiles = createProfileStore({ capacity: 16 });
  const consent = createConsentEngine({ logger, profiles });
  profiles.upsert('aaaa0001', {});
  consent.optIn('aaaa0001', rec, 1_000);
  const first = consent.entryOf('aaaa0001');
  assert.ok(first >= 0);
  assert.equal(consent.check('aaaa0001', 't', 1_000), '');
  const slot = profiles.slotOf('aaaa0001');
  profiles.delete('aaaa0001');
  // the next subscriber gets the freed slot and has no consent at all
  assert.equal(profiles.upsert('bbbb0002', {}), slot);
  assert.equal(consent.entryOf('bbbb0002'), -1);
  assert.equal(consent.check('bbbb0002', 't', 2_000), 'no_consent');
  // it opts in: a new entry, never the previous subscriber's
  consent.optIn('bbbb0002', rec, 3_000);
  const second = consent.entryOf('bbbb0002');
  assert.ok(second >= 0 && second !== first);
  assert.equal(consent.check('bbbb0002', 't', 3_000), '');
  // the first subscriber keeps its entry and state without a profile, and again when it comes back
  assert.equal(consent.entryOf('aaaa0001'), first);
  consent.optOut('aaaa0001', rec, 4_000);
  assert.equal(consent.check('bbbb0002', 't', 4_000), '');
  profiles.upsert('aaaa0001', {});
  assert.equal(consent.entryOf('aaaa0001'), first);
  assert.equal(consent.check('aaaa0001', 't', 4_000), 'opted_out');
  // an unknown subscriber with a profile and no record: no entry, no consent, until it opts in
  profiles.upsert('cccc0003', {});
  assert.equal(consent.check('cccc0003', 't', 5_000), 'no_consent');
  assert.equal(consent.entryOf('cccc0003'), -1);
  consent.optIn('cccc0003', rec, 5_000);
  assert.equal(consent.check('cccc0003', 't', 5_000), '');
  assert.ok(consent.entryOf('cccc0003') > second);
  // a cleared store forgets the slots, consent stays
  profiles.clear();
  assert.equal(consent.check('cccc0003', 't', 6_000), '');
  assert.equal(consent.check('aaaa0001', 't', 6_000), 'opted_out');
});
