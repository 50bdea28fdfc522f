import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isStateAdvance,
  normaliseSmscId,
  parseReceiptText,
  readReceipt,
} from '../../../src/deliver/receipt.ts';
import { createReceiptTracker, type TrackedMessage } from '../../../src/deliver/receipt-tracker.ts';

test('SMSC ids compare equal across hex and decimal spellings, leading zeros and case', () => {
  assert.equal(normaliseSmscId('00000A1B'), normaliseSmscId('a1b'));
  assert.equal(normaliseSmscId('0x0a1b'), normaliseSmscId('A1B'));
  assert.equal(normaliseSmscId('000123'), normaliseSmscId('123'));
  assert.equal(normaliseSmscId('msg-ABC_1'), normaliseSmscId('MSG-abc_1'));
  assert.notEqual(normaliseSmscId('10'), normaliseSmscId('11'));
});

test('a text receipt is parsed into id, state and error', () => {
  const r = parseReceiptText(
    'id:0000010001 sub:001 dlvrd:001 submit date:2611230140 done date:2611230141 stat:DELIVRD err:000 text:Hello',
  );
  assert.deepEqual(r, { id: normaliseSmscId('10001'), state: 'delivered', err: '000' });
  assert.equal(parseReceiptText('id:5 stat:UNDELIV err:012')?.state, 'undeliverable');
  assert.equal(parseReceiptText('hello there'), undefined);
});

test('the receipted_message_id and message_state TLVs win over the text', () => {
  const r = readReceipt({ receiptedMessageId: 'FF', messageState: 5, text: 'id:1 stat:DELIVRD err:000' });
  assert.equal(r?.id, normaliseSmscId('ff'));
  assert.equal(r?.state, 'undeliverable');
});

test('final states never move and states never regress', () => {
  assert.equal(isStateAdvance('submitted', 'enroute'), true);
  assert.equal(isStateAdvance('enroute', 'delivered'), true);
  assert.equal(isStateAdvance('delivered', 'enroute'), false);
  assert.equal(isStateAdvance('delivered', 'undeliverable'), false);
  assert.equal(isStateAdvance('accepted', 'enroute'), false);
});

function buildMessage(parts = 1): TrackedMessage {
  return {
    messageId: 'm1',
    parts,
    states: new Array(parts).fill('submitted'),
    expiresAtMs: 1e15,
    done: false,
  };
}

test('a receipt that arrives before its submit_sm_resp is parked and applied on registration', () => {
  const seen: string[] = [];
  const t = createReceiptTracker({
    onPartState: (_m, p, s) => seen.push(`${p}:${s}`),
    onMessageFinal: (_m, s) => seen.push(`final:${s}`),
  });
  assert.equal(t.receive({ id: normaliseSmscId('2A'), state: 'delivered' }, '2A', 0), 'parked');
  t.register(buildMessage(), 0, '0000002a', 1);
  assert.deepEqual(seen, ['0:delivered', 'final:delivered']);
  assert.equal(t.parked, 0);
});

test('duplicate and regressing receipts are ignored and the message is final once', () => {
  const seen: string[] = [];
  const t = createReceiptTracker({
    onPartState: (_m, p, s) => seen.push(`${p}:${s}`),
    onMessageFinal: (_m, s) => seen.push(`final:${s}`),
  });
  const m = buildMessage(2);
  t.register(m, 0, '10', 0);
  t.register(m, 1, '11', 0);
  t.receive({ id: normaliseSmscId('10'), state: 'delivered' }, '10', 1);
  t.receive({ id: normaliseSmscId('10'), state: 'delivered' }, '10', 2);
  t.receive({ id: normaliseSmscId('10'), state: 'enroute' }, '10', 3);
  t.receive({ id: normaliseSmscId('11'), state: 'undeliverable' }, '11', 4);
  t.receive({ id: normaliseSmscId('11'), state: 'delivered' }, '11', 5);
  assert.deepEqual(seen, ['0:delivered', '1:undeliverable', 'final:undeliverable']);
});

test('a receipt quoting a decimal id matches a part whose submit_sm_resp id was hexadecimal', () => {
  const seen: string[] = [];
  const t = createReceiptTracker({
    onPartState: (_m, _p, s) => seen.push(s),
    onMessageFinal: () => undefined,
  });
  t.register(buildMessage(), 0, '0000010001', 0);
  // 0x10001 = 65537
  t.receive({ id: normaliseSmscId('65537'), state: 'delivered' }, '65537', 1);
  assert.deepEqual(seen, ['delivered']);
});
