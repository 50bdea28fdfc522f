/** Raw fields of a deliver_sm / data_sm-like body that the `smpp` package would decode lossily. */
export interface RawMessageFields {
  esmClass: number;
  dataCoding: number;
  /** short_message octets, or the message_payload TLV's when short_message is empty. */
  payload: Buffer;
}

const MESSAGE_PAYLOAD_TAG = 0x0424;

function skipCString(buf: Buffer, off: number, max: number): number {
  let i = off;
  while (i < max && buf[i] !== 0) i++;
  if (i >= max) throw new RangeError('unterminated C-string');
  return i + 1;
}

/**
 * Reads esm_class, data_coding and the message octets of a deliver_sm frame without decoding the text
 * (the `smpp` package decodes each part on its own, which garbles a character split across parts).
 * Throws RangeError on a truncated frame.
 */
export function readDeliverSmRaw(frame: Buffer): RawMessageFields {
  const end = Math.min(frame.length, frame.readUInt32BE(0));
  let o = 16;
  o = skipCString(frame, o, end); // service_type
  o += 2; // source_addr_ton, npi
  o = skipCString(frame, o, end); // source_addr
  o += 2; // dest_addr_ton, npi
  o = skipCString(frame, o, end); // destination_addr
  const esmClass = frame[o];
  o += 3; // esm_class, protocol_id, priority_flag
  o = skipCString(frame, o, end); // schedule_delivery_time
  o = skipCString(frame, o, end); // validity_period
  o += 2; // registered_delivery, replace_if_present_flag
  if (o + 3 > end) throw new RangeError('truncated deliver_sm');
  const dataCoding = frame[o];
  const smLength = frame[o + 2];
  o += 3;
  if (o + smLength > end) throw new RangeError('short_message runs past the PDU');
  let payload = frame.subarray(o, o + smLength);
  o += smLength;
  while (payload.length === 0 && o + 4 <= end) {
    const tag = frame.readUInt16BE(o);
    const len = frame.readUInt16BE(o + 2);
    if (o + 4 + len > end) break;
    if (tag === MESSAGE_PAYLOAD_TAG) payload = frame.subarray(o + 4, o + 4 + len);
    o += 4 + len;
  }
  return { esmClass, dataCoding, payload: Buffer.from(payload) };
}

/** The submit_sm fields the sender sets; everything else is the SMPP 3.4 default (empty / 0). */
export interface SubmitSmFields {
  source_addr_ton: number;
  source_addr_npi: number;
  source_addr: string;
  dest_addr_ton: number;
  dest_addr_npi: number;
  destination_addr: string;
  esm_class: number;
  registered_delivery: number;
  validity_period: string;
  data_coding: number;
  short_message: Buffer;
}

/**
 * Encodes a submit_sm frame directly (the hot path: one allocation per PDU, no per-field filters).
 * Addresses and validity are ASCII; short_message is already encoded and at most 254 octets.
 */
export function encodeSubmitSm(sequence: number, f: SubmitSmFields): Buffer {
  const sm = f.short_message;
  if (sm.length > 254) throw new RangeError('short_message longer than 254 octets');
  const len =
    16 +
    1 +
    2 +
    f.source_addr.length +
    1 +
    2 +
    f.destination_addr.length +
    1 +
    3 +
    1 +
    f.validity_period.length +
    1 +
    5 +
    sm.length;
  const b = Buffer.allocUnsafe(len);
  b.writeUInt32BE(len, 0);
  b.writeUInt32BE(0x00000004, 4);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(sequence, 12);
  let o = 16;
  b[o++] = 0; // service_type
  b[o++] = f.source_addr_ton;
  b[o++] = f.source_addr_npi;
  o += b.write(f.source_addr, o, 'latin1');
  b[o++] = 0;
  b[o++] = f.dest_addr_ton;
  b[o++] = f.dest_addr_npi;
  o += b.write(f.destination_addr, o, 'latin1');
  b[o++] = 0;
  b[o++] = f.esm_class;
  b[o++] = 0; // protocol_id
  b[o++] = 0; // priority_flag
  b[o++] = 0; // schedule_delivery_time: immediate
  o += b.write(f.validity_period, o, 'latin1');
  b[o++] = 0;
  b[o++] = f.registered_delivery;
  b[o++] = 0; // replace_if_present_flag
  b[o++] = f.data_coding;
  b[o++] = 0; // sm_default_msg_id
  b[o++] = sm.length;
  sm.copy(b, o);
  return b;
}
