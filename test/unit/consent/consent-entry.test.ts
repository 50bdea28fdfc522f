import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createConsentEngine } from '../../../src/consent/index.ts';
import { createLogger } from '../../../src/logger.ts';

const logger = createLogger({ level: 'silent' });
const rec = { source: 'test', evidence: 'test' };

test('a subscriber keeps its consent entry through opt-out and opt-in again, and sids without a record have none', () => {
  const consent = createConsentEngine({ logger, expectedSubscribers: 4 });
  assert.equal(consent.entryOf('aa01'), -1);
  const sids = Array.from({ length: 50 }, (_, i) => `sid-${i}`);
  for (const sid of sids) consent.optIn(sid, rec, 1_000);
  const entries = sids.map((sid) => consent.entryOf(sid));
  assert.equal(new Set(entries).size, sids.length);
  for (const e of entries) assert.ok(e >= 0);
  consent.optOut('sid-3', rec, 2_000);
  assert.equal(consent.check('sid-3', 't', 2_000), 'opted_out');
  consent.optIn('sid-3', rec, 3_000);
  assert.equal(consent.check('sid-3', 't', 3_000), '');
  assert.deepEqual(
    sids.map((sid) => consent.entryOf(sid)),
    entries,
  );
  assert.equal(consent.entryOf('never-seen'), -1);
});

test('a sid the compact table cannot hold has no entry but its consent still counts', () => {
  const consent = createConsentEngine({ logger });
  consent.optIn('сид-кирилиця', rec, 1_000);
  assert.equal(consent.entryOf('сид-кирилиця'), -1);
  assert.equal(consent.check('сид-кирилиця', 't', 2_000), '');
});
