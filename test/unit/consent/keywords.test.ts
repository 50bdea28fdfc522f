import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createConsentEngine, createKeywordMatcher } from '../../../src/consent/index.ts';
import { createLogger } from '../../../src/logger.ts';

const logger = createLogger({ level: 'silent' });

test('opt-out keywords match whatever the case, punctuation and whitespace', () => {
  const match = createKeywordMatcher();
  for (const text of [
    'STOP',
    'stop',
    ' Stop! ',
    's.t.o.p',
    'СТОП',
    'стоп.',
    'ВІДПИСАТИСЯ',
    'Отписаться',
    'unsubscribe',
    'Opt-Out',
    'STOP\u200b',
  ]) {
    assert.ok(match(text), `${JSON.stringify(text)} should opt out`);
  }
});

test('a reply that only contains a keyword is not an opt-out', () => {
  const match = createKeywordMatcher();
  for (const text of ['stop by our shop', 'STOP2', 'nonstop', 'please stop sending', 'стопка', '']) {
    assert.equal(match(text), undefined, `${JSON.stringify(text)} should not opt out`);
  }
});

test('a repeated STOP opts out once and confirms once', () => {
  const consent = createConsentEngine({ logger });
  consent.optIn('s1', { source: 'web', evidence: 'form 42' }, 1);
  const first = consent.handleMo('s1', 'STOP', 2);
  const second = consent.handleMo('s1', 'stop', 3);
  assert.equal(first.action, 'opt_out');
  assert.ok(first.reply);
  assert.equal(second.action, 'opt_out');
  assert.equal(second.reply, undefined);
  assert.equal(consent.check('s1', 'acme', 4), 'opted_out');
});

test("a campaign's decline word suppresses that retailer only, for the configured days", () => {
  const rows: [string, unknown][] = [];
  const consent = createConsentEngine({
    logger,
    brandDeclineDays: 30,
    sink: { write: (table, row) => void rows.push([table, row]) },
    attribution: () => ({
      campaignId: 'c1',
      tenant: 'acme',
      storeId: 's1',
      declineWord: 'no',
      brandName: 'Acme',
    }),
  });
  consent.optIn('s1', { source: 'web', evidence: 'form 42' }, 0);
  const r = consent.handleMo('s1', 'No.', 1000);
  assert.equal(r.action, 'brand_decline');
  assert.match(r.reply ?? '', /Acme/);
  assert.equal(consent.check('s1', 'acme', 2000), 'brand_declined');
  assert.equal(consent.check('s1', 'globex', 2000), '');
  assert.equal(consent.check('s1', 'acme', 1000 + 30 * 86_400_000), '');
  assert.equal(consent.handleMo('s1', 'no thanks', 3000).action, 'none');
  assert.ok(rows.some(([t]) => t === 'brand_declines'));
});

test('consent needs an explicit opt-in with source and evidence', () => {
  const consent = createConsentEngine({ logger });
  assert.equal(consent.check('s1', 'acme', 0), 'no_consent');
  assert.throws(() => consent.optIn('s1', { source: '', evidence: 'x' }, 0), { code: 'CONSENT_INVALID' });
  consent.optIn('s1', { source: 'shop', evidence: 'signed form 7' }, 0);
  assert.equal(consent.canSend('s1', 'acme', 1), true);
  consent.setBlocklist(['s1']);
  assert.equal(consent.canSend('s1', 'acme', 1), false);
});
