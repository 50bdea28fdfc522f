import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readReceipt } from '../../../src/deliver/receipt.ts';
import { createReceiptTracker, type TrackedMessage } from '../../../src/deliver/receipt-tracker.ts';

// Regression: with Net::SMPP (decimal submit ids, the same number in hex in receipts), the receipt of
// submit 65 ("41" in hex) was matched to submit 41, so past a few dozen messages receipts went to the
// wrong messages and many stayed `submitted` (found by the end-to-end test against Net::SMPP).

function run(
  count: number,
  submitId: (n: number) => string,
  receiptId: (n: number) => string,
  order: 'in_turn' | 'all_after' | 'receipt_first',
) {
  const got = new Map<string, string[]>();
  const t = createReceiptTracker({
    onPartState: (m, _p, s) => got.set(m.messageId, [...(got.get(m.messageId) ?? []), s]),
    onMessageFinal: () => undefined,
  });
  const receive = (n: number) => {
    const raw = receiptId(n);
    t.receive(readReceipt({ receiptedMessageId: raw, messageState: 2 })!, raw, n);
  };
  for (let n = 41; n < 41 + count; n++) {
    const msg: TrackedMessage = {
      messageId: `m${n}`,
      parts: 1,
      states: ['submitted'],
      expiresAtMs: 1e15,
      done: false,
    };
    if (order === 'receipt_first') receive(n);
    t.register(msg, 0, submitId(n), n);
    if (order === 'in_turn') receive(n);
  }
  if (order === 'all_after') for (let n = 41; n < 41 + count; n++) receive(n);
  const wrong = [];
  for (let n = 41; n < 41 + count; n++) {
    if (JSON.stringify(got.get(`m${n}`)) !== '["delivered"]') wrong.push(`m${n}: ${got.get(`m${n}`)}`);
  }
  return wrong;
}

test('receipts quoting decimal submit ids in hex reach their own messages, also once hex spellings look decimal', () => {
  const dec = (n: number) => String(n).padStart(8, '0');
  const hex = (n: number) => n.toString(16);
  assert.deepEqual(run(400, dec, hex, 'in_turn'), []);
  assert.deepEqual(run(400, dec, hex, 'all_after'), []);
});

test('a hex receipt that overtakes its submit_sm_resp waits for its own part, not one whose decimal id it spells', () => {
  const dec = (n: number) => String(n).padStart(8, '0');
  const hex = (n: number) => n.toString(16);
  assert.deepEqual(run(400, dec, hex, 'receipt_first'), []);
});

test('receipts quoting hex submit ids in decimal reach their own messages', () => {
  const hex = (n: number) => (0x10000 + n).toString(16).toUpperCase().padStart(10, '0');
  const dec = (n: number) => String(0x10000 + n);
  assert.deepEqual(run(400, hex, dec, 'in_turn'), []);
  assert.deepEqual(run(400, hex, dec, 'all_after'), []);
});

test('receipts spelling all-digit ids the same way as the submit reach their own messages', () => {
  const dec = (n: number) => String(n);
  assert.deepEqual(run(400, dec, dec, 'in_turn'), []);
  assert.deepEqual(run(400, dec, dec, 'all_after'), []);
});

test('receipts that come before their submit_sm_resp are matched whichever way they spell the id', () => {
  for (const [submitId, receiptId] of [
    [(n: number) => String(n).padStart(8, '0'), (n: number) => n.toString(16)],
    [(n: number) => (0x10000 + n).toString(16).padStart(10, '0'), (n: number) => String(0x10000 + n)],
  ]) {
    const got: string[] = [];
    const t = createReceiptTracker({
      onPartState: (m, _p, s) => got.push(`${m.messageId}:${s}`),
      onMessageFinal: () => undefined,
    });
    const raw = receiptId(77);
    assert.equal(t.receive(readReceipt({ receiptedMessageId: raw, messageState: 2 })!, raw, 0), 'parked');
    const msg: TrackedMessage = {
      messageId: 'm77',
      parts: 1,
      states: ['submitted'],
      expiresAtMs: 1e15,
      done: false,
    };
    t.register(msg, 0, submitId(77), 1);
    assert.deepEqual(got, ['m77:delivered']);
    assert.equal(t.parked, 0);
  }
});
