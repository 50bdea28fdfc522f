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
