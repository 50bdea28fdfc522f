import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeGsm7 } from '../../../src/deliver/gsm7.ts';
import {
  decodeUcs2,
  encodeSms,
  measureSms,
  readConcatUdh,
  referenceParts,
  splitText,
} from '../../../src/deliver/segmentation.ts';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function reassemble(text: string): string {
  const enc = encodeSms(text, 7);
  return enc.parts
    .map((p) => {
      const body = enc.udh ? p.subarray(readConcatUdh(p)!.headerLength) : p;
      return enc.dataCoding === 0 ? decodeGsm7(body) : decodeUcs2(body);
    })
    .join('');
}

test('plain Latin text is GSM-7 with data_coding 0 and fits 160 characters in one part', () => {
  const enc = encodeSms('a'.repeat(160), 1);
  assert.equal(enc.dataCoding, 0);
  assert.equal(enc.parts.length, 1);
  assert.equal(enc.udh, false);
  assert.deepEqual(measureSms('a'.repeat(160)), { encoding: 'GSM-7', parts: 1, chars: 160 });
});

test('161 GSM characters become two parts of at most 153 septets behind a 6-octet UDH', () => {
  const enc = encodeSms('b'.repeat(161), 0x2a);
  assert.equal(enc.parts.length, 2);
  assert.deepEqual([...enc.parts[0].subarray(0, 6)], [5, 0, 3, 0x2a, 2, 1]);
  assert.deepEqual([...enc.parts[1].subarray(0, 6)], [5, 0, 3, 0x2a, 2, 2]);
  assert.equal(enc.parts[0].length, 6 + 153);
  assert.equal(enc.parts[1].length, 6 + 8);
});

test('extension characters count two septets and an escape sequence is never split across parts', () => {
  const text = `${'a'.repeat(152)}€tail-of-it`;
  assert.equal(measureSms('€'.repeat(80)).parts, 1);
  assert.equal(measureSms('€'.repeat(81)).parts, 2);
  const parts = splitText(text, 'GSM-7');
  assert.equal(parts[0], 'a'.repeat(152));
  assert.equal(parts[1], '€tail-of-it');
  assert.equal(reassemble(text), text);
});

test('Ukrainian and Russian text is UCS-2 with data_coding 8, 70 per single part and 67 per concatenated part', () => {
  const ua = 'Привіт, ґанок і їжак — знижка 15%';
  assert.equal(encodeSms(ua, 1).dataCoding, 8);
  assert.deepEqual(measureSms('Ж'.repeat(70)), { encoding: 'UCS-2', parts: 1, chars: 70 });
  const enc = encodeSms('Ж'.repeat(71), 1);
  assert.equal(enc.parts.length, 2);
  assert.equal(enc.parts[0].length, 6 + 134);
  assert.equal(reassemble(`${ua} Скидка сегодня`.repeat(5)), `${ua} Скидка сегодня`.repeat(5));
});

test('a surrogate pair at a part boundary moves whole to the next part', () => {
  const text = `${'Ж'.repeat(66)}😀${'Ж'.repeat(5)}`;
  const parts = splitText(text, 'UCS-2');
  assert.equal(parts[0], 'Ж'.repeat(66));
  assert.equal(parts[1], `😀${'Ж'.repeat(5)}`);
  assert.equal(measureSms(text).parts, 2);
  assert.equal(reassemble(text), text);
});

test('the part count of our splitter always equals the segment calculator library count on random text', () => {
  const seed = Date.now() % 100000;
  const rnd = seeded(seed);
  const alphabet = ['a', 'Z', ' ', '€', '[', '^', 'Ж', 'ї', '😀', '\n', 'é', '{'];
  for (let n = 0; n < 400; n++) {
    const len = Math.floor(rnd() * 400) + 1;
    let text = '';
    for (let i = 0; i < len; i++) text += alphabet[Math.floor(rnd() * (rnd() < 0.8 ? 3 : alphabet.length))];
    const m = measureSms(text);
    const enc = encodeSms(text, 1);
    assert.equal(enc.parts.length, m.parts, `seed ${seed}: parts differ for ${JSON.stringify(text)}`);
    assert.equal(
      referenceParts(text),
      m.parts,
      `seed ${seed}: library disagrees for ${JSON.stringify(text)}`,
    );
    assert.equal(reassemble(text), text, `seed ${seed}: round trip failed`);
    for (const p of enc.parts) assert.ok(p.length <= 160, `seed ${seed}: part too long`);
  }
});

test('an empty text is refused with SMS_ENCODING_FAILED', () => {
  assert.throws(() => encodeSms('', 1), { code: 'SMS_ENCODING_FAILED' });
});
