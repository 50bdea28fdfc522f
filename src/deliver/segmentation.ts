import calculator from 'sms-segments-calculator';
import { AppError } from '../errors.ts';
import { encodeGsm7, gsmSeptets, isGsm7 } from './gsm7.ts';

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsMeasure {
  encoding: SmsEncoding;
  /** SMS parts (segments) the text needs. */
  parts: number;
  /** Length in the encoding's units: GSM-7 septets or UCS-2 code units. */
  chars: number;
}

export interface EncodedSms {
  encoding: SmsEncoding;
  /** SMPP data_coding: 0 = SMSC default alphabet (GSM 03.38), 8 = UCS-2. */
  dataCoding: 0 | 8;
  /** Each part's short_message octets, UDH included when there is more than one part. */
  parts: Buffer[];
  /** True when the parts carry a UDH (esm_class bit 0x40 must be set). */
  udh: boolean;
}

const GSM_SINGLE = 160;
const GSM_PART = 153;
const UCS2_SINGLE = 70;
const UCS2_PART = 67;
// More parts than this can't be numbered in an 8-bit concatenation UDH.
const MAX_PARTS = 255;

const { SegmentedMessage } = calculator;

/**
 * Encoding, part count and length of an SMS text, as the SMSC will bill it: the parts `splitText`
 * makes (extension characters and surrogate pairs never cut at a part boundary), counted without
 * building them — decide measures every campaign × store text on each reload, so this is hot. The
 * unit tests hold it equal to `sms-segments-calculator` on generated texts.
 */
export function measureSms(text: string): SmsMeasure {
  const encoding: SmsEncoding = isGsm7(text) ? 'GSM-7' : 'UCS-2';
  const gsm = encoding === 'GSM-7';
  let chars = 0;
  if (gsm) for (let i = 0; i < text.length; i++) chars += gsmSeptets(text.charCodeAt(i));
  else chars = text.length;
  if (chars <= (gsm ? GSM_SINGLE : UCS2_SINGLE)) return { encoding, parts: 1, chars };
  const per = gsm ? GSM_PART : UCS2_PART;
  let parts = 1;
  let used = 0;
  for (let i = 0; i < text.length; ) {
    const cu = text.charCodeAt(i);
    const pair = !gsm && cu >= 0xd800 && cu <= 0xdbff && i + 1 < text.length;
    const width = pair ? 2 : gsm ? gsmSeptets(cu) : 1;
    if (used + width > per) {
      parts++;
      used = 0;
    }
    used += width;
    i += pair ? 2 : 1;
  }
  return { encoding, parts, chars };
}

/** Part count by `sms-segments-calculator` (the reference `measureSms` is tested against). */
export function referenceParts(text: string): number {
  const encoding = isGsm7(text) ? 'GSM-7' : 'UCS-2';
  return Math.max(1, new SegmentedMessage(text, encoding).segmentsCount);
}

/**
 * Splits `text` into SMS parts at boundaries that never cut an escape sequence (GSM-7) or a
 * surrogate pair (UCS-2). Returns the text of each part.
 */
export function splitText(text: string, encoding: SmsEncoding): string[] {
  const single = encoding === 'GSM-7' ? GSM_SINGLE : UCS2_SINGLE;
  const per = encoding === 'GSM-7' ? GSM_PART : UCS2_PART;
  const cost = (i: number): number => (encoding === 'GSM-7' ? gsmSeptets(text.charCodeAt(i)) : 1);
  let total = 0;
  for (let i = 0; i < text.length; i++) total += cost(i);
  if (total <= single) return [text];
  const parts: string[] = [];
  let start = 0;
  let used = 0;
  for (let i = 0; i < text.length; ) {
    const cu = text.charCodeAt(i);
    // A high surrogate followed by its low surrogate is one indivisible unit of 2 code units.
    const pair = encoding === 'UCS-2' && cu >= 0xd800 && cu <= 0xdbff && i + 1 < text.length;
    const width = pair ? 2 : cost(i);
    const units = pair ? 2 : 1;
    if (used + width > per) {
      parts.push(text.slice(start, i));
      start = i;
      used = 0;
    }
    used += width;
    i += units;
  }
  parts.push(text.slice(start));
  return parts;
}

/** Encodes UTF-16 text as UCS-2 big-endian (surrogates pass through as two code units). */
export function encodeUcs2(text: string): Buffer {
  const buf = Buffer.allocUnsafe(text.length * 2);
  for (let i = 0; i < text.length; i++) buf.writeUInt16BE(text.charCodeAt(i), i * 2);
  return buf;
}

/** Decodes UCS-2/UTF-16 big-endian octets (an odd trailing octet is dropped). */
export function decodeUcs2(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode((bytes[i] << 8) | bytes[i + 1]);
  return s;
}

/**
 * Encodes an SMS into short_message parts: GSM-7 (data_coding 0) when the text allows it, UCS-2
 * (data_coding 8) otherwise; more than one part gets a concatenation UDH (IEI 0x00, 8-bit `ref`).
 */
export function encodeSms(text: string, ref: number): EncodedSms {
  if (text.length === 0) throw new AppError('SMS_ENCODING_FAILED', 'message text is empty');
  const encoding: SmsEncoding = isGsm7(text) ? 'GSM-7' : 'UCS-2';
  const texts = splitText(text, encoding);
  if (texts.length > MAX_PARTS) {
    throw new AppError('SMS_ENCODING_FAILED', `message needs ${texts.length} parts; at most ${MAX_PARTS}`);
  }
  const encode = encoding === 'GSM-7' ? encodeGsm7 : encodeUcs2;
  const dataCoding = encoding === 'GSM-7' ? 0 : 8;
  if (texts.length === 1) return { encoding, dataCoding, parts: [encode(text)], udh: false };
  const total = texts.length;
  const parts = texts.map((t, i) =>
    Buffer.concat([Buffer.from([5, 0x00, 3, ref & 0xff, total, i + 1]), encode(t)]),
  );
  return { encoding, dataCoding, parts, udh: true };
}

export interface ConcatInfo {
  ref: number;
  total: number;
  seq: number;
  /** Octets of the UDH, length byte included. */
  headerLength: number;
}

/** Reads a concatenation IE (IEI 0x00 8-bit ref, or 0x08 16-bit ref) from a UDH-prefixed payload. */
export function readConcatUdh(payload: Uint8Array): ConcatInfo | undefined {
  if (payload.length < 1) return undefined;
  const udhl = payload[0];
  if (udhl + 1 > payload.length) return undefined;
  let i = 1;
  while (i + 1 < udhl + 1) {
    const iei = payload[i];
    const len = payload[i + 1];
    if (i + 2 + len > udhl + 1) return undefined;
    if (iei === 0x00 && len === 3) {
      return { ref: payload[i + 2], total: payload[i + 3], seq: payload[i + 4], headerLength: udhl + 1 };
    }
    if (iei === 0x08 && len === 4) {
      const ref = (payload[i + 2] << 8) | payload[i + 3];
      return { ref, total: payload[i + 4], seq: payload[i + 5], headerLength: udhl + 1 };
    }
    i += 2 + len;
  }
  return { ref: -1, total: 1, seq: 1, headerLength: udhl + 1 };
}
