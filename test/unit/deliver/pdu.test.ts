import assert from 'node:assert/strict';
import { test } from 'node:test';
import smpp from 'smpp';
import { encodeSubmitSm, readDeliverSmRaw } from '../../../src/deliver/pdu-raw.ts';
import { encodeSms } from '../../../src/deliver/segmentation.ts';

function buildFields(over: Partial<Parameters<typeof encodeSubmitSm>[1]> = {}) {
  return {
    source_addr_ton: 5,
    source_addr_npi: 0,
    source_addr: 'Shop',
    dest_addr_ton: 1,
    dest_addr_npi: 1,
    destination_addr: '380501234567',
    esm_class: 0x40,
    registered_delivery: 1,
    validity_period: '000000020000000R',
    data_coding: 8,
    short_message: encodeSms('Ж'.repeat(80), 9).parts[0],
    ...over,
  };
}

test('our submit_sm encoder produces frames the smpp package decodes field for field', () => {
  const f = buildFields();
  const frame = encodeSubmitSm(77, f);
  const pdu = new smpp.PDU(frame);
  assert.equal(pdu.command, 'submit_sm');
  assert.equal(pdu.sequence_number, 77);
  assert.equal(pdu.command_length, frame.length);
  for (const k of [
    'source_addr_ton',
    'source_addr_npi',
    'source_addr',
    'dest_addr_ton',
    'dest_addr_npi',
    'destination_addr',
    'esm_class',
    'registered_delivery',
    'data_coding',
  ] as const) {
    assert.equal(pdu[k], f[k], k);
  }
  assert.deepEqual(readDeliverSmRaw(frame).payload, f.short_message);
});

test('a short_message over 254 octets is refused instead of producing a broken frame', () => {
  assert.throws(() => encodeSubmitSm(1, buildFields({ short_message: Buffer.alloc(255) })), RangeError);
});

test('a truncated deliver_sm body is reported, not read past its end', () => {
  const b = Buffer.alloc(19);
  b.writeUInt32BE(19, 0);
  b.writeUInt32BE(5, 4);
  b.write('abc', 16, 'ascii');
  assert.throws(() => readDeliverSmRaw(b), RangeError);
});
