import type { AddressInfo } from 'node:net';
import smpp from 'smpp';
import { readDeliverSmRaw } from '../pdu-raw.ts';
import { encodeSms } from '../segmentation.ts';
import { createTokenBucket } from '../token-bucket.ts';

// The package's server decodes short_message into text; the simulator must see the octets the client
// sent, so each PDU read from a stream keeps its raw frame (an extra, non-enumerable property).
const PDUClass = smpp.PDU;
if (!PDUClass.fromStream.keepsRaw) {
  const fromStream = (stream: any, commandLength: number): any => {
    const body = stream.read(commandLength - 4);
    if (!body) return false;
    const head = Buffer.alloc(4);
    head.writeUInt32BE(commandLength, 0);
    const raw = Buffer.concat([head, body]);
    const pdu = new PDUClass(raw);
    Object.defineProperty(pdu, 'raw', { value: raw, enumerable: false });
    return pdu;
  };
  fromStream.keepsRaw = true;
  PDUClass.fromStream = fromStream;
}

export interface OutcomeMix {
  delivered: number;
  undeliverable?: number;
  expired?: number;
  rejected?: number;
}

/** Fault modes; probabilities are per submit_sm, everything can be changed while running. */
export interface SimulatorFaults {
  /** Probability that a submit_sm is never answered. */
  noResponse?: number;
  /** Probability of answering with generic_nack (ESME_RSYSERR) carrying the request's sequence. */
  genericNack?: number;
  /** Probability of answering with generic_nack with sequence 0 (the request can't be matched). */
  genericNackSeq0?: number;
  /** Probability of ESME_RMSGQFUL. */
  queueFull?: number;
  /** Stop answering submits; drop the connection once this many are unanswered (connection lost mid-window). */
  dropAfterUnanswered?: number;
  /** Refuse this many binds (ESME_RBINDFAIL), then accept. -1 = refuse all. */
  refuseBinds?: number;
  /** Stop reading the socket entirely while keeping it open (a half-open TCP connection). */
  halfOpen?: boolean;
  /** Send a PDU with a corrupt length word before the next response. */
  malformedLength?: boolean;
  /** Send a deliver_sm with a truncated body before the next response. */
  malformedBody?: boolean;
  /** Fail concatenated parts with this sequence number (1-based) with `failStatus`. */
  failPartSeq?: number;
  failStatus?: number;
  /** Send the receipt before the submit_sm_resp. */
  receiptBeforeResp?: boolean;
  /** Send every receipt twice, and an intermediate ENROUTE receipt after the final one. */
  duplicateReceipts?: boolean;
}

/** A delivery receipt the simulator generated (kept when `recordSubmits` is on). */
export interface ReceiptRecord {
  /** The submit_sm_resp message_id it reports on. */
  messageId: string;
  /** The `stat:` word (DELIVRD, ENROUTE, ...). */
  stat: string;
  /** The client answered it with ESME_ROK (until then it is offered again). */
  acked: boolean;
}

export interface SmscSimulatorOptions {
  port?: number;
  host?: string;
  /** Accepted submit_sm per second across all binds; above it ESME_RTHROTTLED. 0 = unlimited. */
  tps?: number;
  /** Token bucket depth of the throttle (default tps/10: 100 ms worth). */
  burst?: number;
  latencyMs?: number;
  /** Delay of delivery receipts; negative = send none. */
  receiptDelayMs?: number;
  /** Send an ENROUTE receipt before the final one (half the receipt delay earlier). */
  intermediateReceipts?: boolean;
  /** How long an unanswered or refused receipt waits before it is offered again (also on rebind). */
  receiptRetryMs?: number;
  outcomeMix?: OutcomeMix;
  /** How receipts spell the id: 'hex' like submit_sm_resp, or the same number in 'decimal'. */
  receiptIdFormat?: 'hex' | 'decimal';
  /** Accepted system_id → password; unset = accept any. */
  credentials?: Record<string, string>;
  faults?: SimulatorFaults;
  /** Keep every accepted submit (tests); off for benchmarks. */
  recordSubmits?: boolean;
  random?: () => number;
}

export interface SubmitRecord {
  destination: string;
  source: string;
  sourceTon: number;
  sourceNpi: number;
  esmClass: number;
  dataCoding: number;
  shortMessage: Buffer;
  validity: string;
  registeredDelivery: number;
  messageId: string;
  status: number;
}

export interface SimulatorStats {
  binds: number;
  bindRefusals: number;
  /** Every submit_sm received, whatever the answer. */
  received: number;
  accepted: number;
  throttled: number;
  queueFull: number;
  unanswered: number;
  /** Receipt deliver_sm sent, redeliveries included. */
  receiptsSent: number;
  /** Receipts the client answered with ESME_ROK. */
  receiptsAcked: number;
  /** Receipts sent again: unanswered when their connection closed, refused, or held with no receiver bound. */
  receiptsRedelivered: number;
  /** Receipts waiting for a receiver (not yet answered with ESME_ROK). */
  receiptsPending: number;
  /** MO deliver_sm sent (parts), redeliveries included. */
  moSent: number;
  /** MO parts the client answered with ESME_ROK. */
  moAcked: number;
  /** MO parts sent again (unanswered when their connection closed, or refused). */
  moRedelivered: number;
  submits: SubmitRecord[];
  receipts: ReceiptRecord[];
}

export interface SmscSimulator {
  readonly port: number;
  readonly stats: SimulatorStats;
  setFaults(faults: SimulatorFaults): void;
  /** Sends an MO (split with a UDH when long) to a bound receiver; resolves when answered. */
  injectMo(mo: { from: string; to: string; text: string; dataCoding?: number }): Promise<void>;
  /** Closes every client connection (the SMSC "goes down" for the clients, keeps listening). */
  dropAll(): void;
  stop(): Promise<void>;
}

/** A deliver_sm the SMSC keeps until the client answers it with ESME_ROK: a receipt or an MO part. */
interface HeldReceipt {
  kind?: 'mo';
  /** MO only: called once the client answered ESME_ROK. */
  onAcked?: () => void;
  systemId: string;
  messageId: string;
  stat: string;
  params: Record<string, unknown>;
  offers: number;
  record?: ReceiptRecord;
  /** The session it was last offered on, until that session answers or closes. */
  session?: any;
}

const STATES = {
  delivered: ['DELIVRD', 2],
  undeliverable: ['UNDELIV', 5],
  expired: ['EXPIRED', 3],
  rejected: ['REJECTD', 8],
} as const;

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}

/**
 * A configurable SMSC on the `smpp` package's server: throttling, latency, receipts with an outcome mix,
 * MO injection and fault modes. Used by tests, the demo (`npm run smsc`) and the delivery benchmark.
 */
export async function createSmscSimulator(opts: SmscSimulatorOptions = {}): Promise<SmscSimulator> {
  const random = opts.random ?? Math.random;
  let faults: SimulatorFaults = { ...opts.faults };
  const tps = opts.tps ?? 0;
  const throttle = createTokenBucket(tps, opts.burst ?? Math.max(1, tps / 10), Date.now());
  const latency = opts.latencyMs ?? 0;
  const receiptDelay = opts.receiptDelayMs ?? 50;
  const mix = opts.outcomeMix ?? { delivered: 1 };
  const stats: SimulatorStats = {
    binds: 0,
    bindRefusals: 0,
    received: 0,
    accepted: 0,
    throttled: 0,
    queueFull: 0,
    unanswered: 0,
    receiptsSent: 0,
    receiptsAcked: 0,
    receiptsRedelivered: 0,
    receiptsPending: 0,
    moSent: 0,
    moAcked: 0,
    moRedelivered: 0,
    submits: [],
    receipts: [],
  };
  let nextId = 0x10000;
  const sessions = new Set<any>();
  const receivers = new Set<any>();
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number, fn: () => void): void => {
    if (ms <= 0) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const pickOutcome = (): keyof typeof STATES => {
    const total = (mix.delivered ?? 0) + (mix.undeliverable ?? 0) + (mix.expired ?? 0) + (mix.rejected ?? 0);
    let r = random() * total;
    for (const k of ['delivered', 'undeliverable', 'expired', 'rejected'] as const) {
      r -= mix[k] ?? 0;
      if (r < 0) return k;
    }
    return 'delivered';
  };

  const receiverFor = (session: any): any => {
    if (session.canReceive && !session.socket.destroyed) return session;
    for (const s of receivers) if (s.systemId === session.systemId && !s.socket.destroyed) return s;
    return undefined;
  };

  // Like a real SMSC, a receipt stays stored until the client answers it with ESME_ROK: one left
  // unanswered when its connection closed, refused, or with no receiver bound is offered again.
  const held = new Map<string, Set<HeldReceipt>>();
  const retryMs = opts.receiptRetryMs ?? 1000;
  const hold = (r: HeldReceipt): void => {
    let set = held.get(r.systemId);
    if (!set) {
      set = new Set();
      held.set(r.systemId, set);
    }
    set.add(r);
  };
  const offer = (r: HeldReceipt, target: any): void => {
    r.session = target;
    target.outstanding ??= new Set<HeldReceipt>();
    target.outstanding.add(r);
    const mo = r.kind === 'mo';
    if (mo) stats.moSent++;
    else stats.receiptsSent++;
    if (r.offers++ > 0) {
      if (mo) stats.moRedelivered++;
      else stats.receiptsRedelivered++;
    }
    target.deliver_sm(r.params, (resp: any) => {
      target.outstanding.delete(r);
      r.session = undefined;
      if (resp.command_status === 0) {
        if (mo) stats.moAcked++;
        else {
          stats.receiptsAcked++;
          stats.receiptsPending--;
        }
        held.get(r.systemId)?.delete(r);
        if (r.record) r.record.acked = true;
        r.onAcked?.();
      } else later(retryMs, () => redeliver(r.systemId));
    });
  };
  const redeliver = (systemId: string): void => {
    const set = held.get(systemId);
    if (!set) return;
    for (const r of set) {
      if (r.session) continue;
      const target = [...receivers].find((s) => s.systemId === systemId && !s.socket.destroyed);
      if (!target) return;
      offer(r, target);
    }
  };

  const sendReceipt = (
    session: any,
    hexId: string,
    submitDate: Date,
    word?: string,
    state?: number,
  ): void => {
    const [finalWord, finalState] = word === undefined ? STATES[pickOutcome()] : [word, state ?? 0];
    const w = word ?? finalWord;
    const st = state ?? finalState;
    const id = opts.receiptIdFormat === 'decimal' ? BigInt(`0x${hexId}`).toString(10) : hexId;
    const text = `id:${id} sub:001 dlvrd:${w === 'DELIVRD' ? '001' : '000'} submit date:${stamp(submitDate)} done date:${stamp(new Date())} stat:${w} err:${w === 'DELIVRD' || w === 'ENROUTE' ? '000' : '001'} text:`;
    const make = (ww: string, sst: number): HeldReceipt => ({
      systemId: session.systemId,
      messageId: hexId,
      stat: ww,
      offers: 0,
      params: {
        esm_class: 0x04,
        source_addr: '',
        destination_addr: '',
        short_message: Buffer.from(text.replace(`stat:${w}`, `stat:${ww}`), 'ascii'),
        receipted_message_id: id,
        message_state: sst,
      },
    });
    const all = [make(w, st)];
    if (faults.duplicateReceipts) all.push(make(w, st), make('ENROUTE', 1));
    for (const r of all) {
      if (opts.recordSubmits) {
        r.record = { messageId: r.messageId, stat: r.stat, acked: false };
        stats.receipts.push(r.record);
      }
      stats.receiptsPending++;
      hold(r);
      const target = receiverFor(session);
      if (target) offer(r, target);
    }
  };

  const handleSubmit = (session: any, pdu: any): void => {
    stats.received++;
    if (faults.dropAfterUnanswered !== undefined) {
      stats.unanswered++;
      session.unanswered = (session.unanswered ?? 0) + 1;
      if (session.unanswered >= faults.dropAfterUnanswered) session.socket.destroy();
      return;
    }
    if (faults.noResponse && random() < faults.noResponse) {
      stats.unanswered++;
      return;
    }
    if (faults.malformedLength) {
      faults = { ...faults, malformedLength: false };
      session.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0]));
    }
    if (faults.malformedBody) {
      faults = { ...faults, malformedBody: false };
      const b = Buffer.alloc(19);
      b.writeUInt32BE(19, 0);
      b.writeUInt32BE(0x05, 4);
      b.writeUInt32BE(0, 8);
      b.writeUInt32BE(0x7ffffff0, 12);
      b.write('abc', 16, 'ascii');
      session.socket.write(b);
    }
    if (faults.genericNack && random() < faults.genericNack) {
      session.send(
        new smpp.PDU('generic_nack', { sequence_number: pdu.sequence_number, command_status: 0x08 }),
      );
      return;
    }
    if (faults.genericNackSeq0 && random() < faults.genericNackSeq0) {
      const b = Buffer.alloc(16);
      b.writeUInt32BE(16, 0);
      b.writeUInt32BE(0x80000000, 4);
      b.writeUInt32BE(0x03, 8);
      b.writeUInt32BE(0, 12);
      session.socket.write(b);
      return;
    }
    let status = 0;
    const raw = pdu.raw ? readDeliverSmRaw(pdu.raw) : undefined;
    const sm: Buffer = raw?.payload ?? Buffer.alloc(0);
    if (throttle.take(Date.now()) > 0) {
      status = 0x58;
      stats.throttled++;
    } else if (faults.queueFull && random() < faults.queueFull) {
      status = 0x14;
      stats.queueFull++;
    } else if (
      faults.failPartSeq !== undefined &&
      (pdu.esm_class & 0x40) !== 0 &&
      sm[5] === faults.failPartSeq
    ) {
      status = faults.failStatus ?? 0x0b;
    }
    const messageId = status === 0 ? (nextId++).toString(16).toUpperCase().padStart(10, '0') : '';
    if (status === 0) stats.accepted++;
    if (opts.recordSubmits) {
      stats.submits.push({
        destination: pdu.destination_addr,
        source: pdu.source_addr,
        sourceTon: pdu.source_addr_ton,
        sourceNpi: pdu.source_addr_npi,
        esmClass: pdu.esm_class,
        dataCoding: pdu.data_coding,
        shortMessage: sm,
        validity: String(pdu.validity_period ?? ''),
        registeredDelivery: pdu.registered_delivery,
        messageId,
        status,
      });
    }
    const wantReceipt = status === 0 && (pdu.registered_delivery & 0x03) !== 0 && receiptDelay >= 0;
    const submitDate = new Date();
    if (wantReceipt && faults.receiptBeforeResp) sendReceipt(session, messageId, submitDate);
    later(latency, () => {
      if (session.socket.destroyed) return;
      session.send(pdu.response(status === 0 ? { message_id: messageId } : { command_status: status }));
      if (wantReceipt && !faults.receiptBeforeResp) {
        if (opts.intermediateReceipts)
          later(receiptDelay / 2, () => sendReceipt(session, messageId, submitDate, 'ENROUTE', 1));
        later(receiptDelay, () => sendReceipt(session, messageId, submitDate));
      }
    });
  };

  const server = smpp.createServer((session: any) => {
    sessions.add(session);
    session.socket.on('close', () => {
      sessions.delete(session);
      receivers.delete(session);
      // Receipts it never answered are stored again for the next receiver of the same system_id.
      const outstanding: Set<HeldReceipt> | undefined = session.outstanding;
      if (outstanding && outstanding.size > 0) {
        for (const r of outstanding) r.session = undefined;
        outstanding.clear();
        later(retryMs, () => redeliver(session.systemId));
      }
    });
    session.on('error', () => session.socket.destroy());
    let corked = false;
    const uncork = (): void => {
      corked = false;
      session.socket.uncork();
    };
    session.on('pdu', (pdu: any) => {
      // Answers to the PDUs of one read leave in one TCP write, as an SMSC batches its responses
      // (one syscall per response was the simulator's largest cost under the delivery benchmark).
      if (!corked && latency <= 0) {
        corked = true;
        session.socket.cork();
        process.nextTick(uncork);
      }
      if (faults.halfOpen) {
        // Nothing is read or answered any more; the TCP connection stays up.
        session.pause();
        return;
      }
      switch (pdu.command) {
        case 'bind_transceiver':
        case 'bind_transmitter':
        case 'bind_receiver': {
          const creds = opts.credentials;
          const refuse = faults.refuseBinds !== undefined && faults.refuseBinds !== 0;
          if (refuse || (creds && creds[pdu.system_id] !== pdu.password)) {
            if (faults.refuseBinds !== undefined && faults.refuseBinds > 0)
              faults = { ...faults, refuseBinds: faults.refuseBinds - 1 };
            stats.bindRefusals++;
            session.send(pdu.response({ command_status: 0x0d }));
            return;
          }
          stats.binds++;
          session.systemId = pdu.system_id;
          session.canReceive = pdu.command !== 'bind_transmitter';
          if (session.canReceive) receivers.add(session);
          session.send(pdu.response({ system_id: 'SIMSMSC' }));
          if (session.canReceive) redeliver(pdu.system_id);
          return;
        }
        case 'submit_sm':
          handleSubmit(session, pdu);
          return;
        case 'enquire_link':
        case 'unbind':
          session.send(pdu.response());
          if (pdu.command === 'unbind') session.close();
          return;
        default:
          if (!pdu.isResponse()) session.send(pdu.response());
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    stats,
    setFaults(f) {
      faults = { ...f };
    },
    injectMo(mo) {
      const target = [...receivers].find((s) => !s.socket.destroyed);
      if (!target) return Promise.reject(new Error('no bound receiver'));
      const enc = encodeSms(mo.text, Math.floor(random() * 256));
      // Like a receipt, each part is held until answered ESME_ROK and offered again after a rebind.
      const answers = enc.parts.map(
        (part) =>
          new Promise<void>((resolve) => {
            const r: HeldReceipt = {
              kind: 'mo',
              onAcked: resolve,
              systemId: target.systemId,
              messageId: '',
              stat: '',
              offers: 0,
              params: {
                source_addr_ton: 1,
                source_addr_npi: 1,
                source_addr: mo.from,
                destination_addr: mo.to,
                esm_class: enc.udh ? 0x40 : 0,
                data_coding: mo.dataCoding ?? enc.dataCoding,
                short_message: part,
              },
            };
            hold(r);
            offer(r, target);
          }),
      );
      return Promise.all(answers).then(() => undefined);
    },
    dropAll() {
      for (const s of sessions) s.socket.destroy();
    },
    stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sessions) s.socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
