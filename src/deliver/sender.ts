import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { isAppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { SmppAccount } from './account-config.ts';
import { type Bind, type BindCounters, createBind } from './bind.ts';
import type { Directory } from './directory.ts';
import { registerDeliverMetrics } from './metrics.ts';
import { classifyMo, createMoAssembler } from './mo.ts';
import type { Outbox, OutboxIntent, OutboxOrder } from './outbox.ts';
import {
  createPartQueue,
  type OutPart,
  type PartOutcome,
  type PartOwner,
  type PartQueue,
} from './part-queue.ts';
import { readDeliverSmRaw } from './pdu-raw.ts';
import { type MessageState, readReceipt } from './receipt.ts';
import { createReceiptTracker, type TrackedMessage } from './receipt-tracker.ts';
import { encodeSms } from './segmentation.ts';
import type { Pdu } from './smpp-connection.ts';
import {
  type DeliverySink,
  eventKey,
  type MoHandlers,
  type MoOutcome,
  type OutboundSms,
  type Sender,
  type SenderStatus,
  type SendResult,
  type SendStatus,
} from './types.ts';

export interface SmppSenderOptions {
  accounts: SmppAccount[];
  logger: Logger;
  directory: Directory;
  /** The at-most-once journal (openOutbox under DATA_DIR). */
  outbox: Outbox;
  /** Where message, event and MO rows go (the store's batched writer). */
  sink?: DeliverySink;
  /** Consent re-check right before submit: true = may send. */
  consentCheck?: (sid: string, tenant: string) => boolean;
  /** Operator blocklist on phone numbers: true = never send. */
  blocklist?: (msisdn: string) => boolean;
  mo?: MoHandlers;
  metrics?: Registry;
  nowMs?: () => number;
}

interface AccountRuntime {
  account: SmppAccount;
  queue: PartQueue;
  binds: Bind[];
  /** Queue depth (parts) within which intents are journaled on arrival. */
  lookahead: number;
}

interface LiveMessage {
  intent: OutboxIntent;
  submitDone: boolean;
  submittedAt: number | null;
  firstSmscId: string;
  finalState?: MessageState;
}

const RECEIPT_ESM_MASK = 0x3c;
// How long after validity a submitted message keeps waiting for receipts.
const RECEIPT_GRACE_MS = 3_600_000;
const LAST_CAMPAIGN_CAP = 100_000;
/** How long an opt-out confirmation may wait for the SMSC. */
const REPLY_VALIDITY_MINUTES = 60;

const MESSAGE_STATUS: Record<MessageState, string> = {
  queued: 'queued',
  submitted: 'submitted',
  enroute: 'submitted',
  accepted: 'submitted',
  delivered: 'delivered',
  expired: 'expired',
  deleted: 'failed',
  undeliverable: 'failed',
  rejected: 'rejected',
  failed: 'failed',
  unknown: 'unknown',
};
const EVENT_NAME: Record<MessageState, string> = {
  ...MESSAGE_STATUS,
  enroute: 'enroute',
  accepted: 'enroute',
  submitted: 'submitted',
};

function addressOf(senderId: string): { ton: number; npi: number } {
  if (/^\+?[0-9]+$/.test(senderId))
    return senderId.replace('+', '').length > 8 ? { ton: 1, npi: 1 } : { ton: 3, npi: 0 };
  // Alphanumeric sender: TON 5, NPI 0.
  return { ton: 5, npi: 0 };
}

function relativeValidity(minutes: number): string {
  const total = Math.max(1, Math.round(minutes * 60));
  const p = (n: number) => String(n).padStart(2, '0');
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  // SMPP 3.4 §7.1.1 relative time: YYMMDDhhmmss t nn R.
  return `0000${p(d)}${p(h)}${p(m)}${p(total % 60)}000R`;
}

/**
 * The SMPP sender: binds to every configured account, journals each order in the outbox as it enters
 * the queue and each message's intent before its first part is submitted, and reports every state to
 * the sink. `send` resolves when every part has a submit outcome; receipts arrive later through the
 * sink. Orders a crash or a shutdown left queued are sent by `recover()` on the next start.
 */
export function createSmppSender(opts: SmppSenderOptions): Sender {
  const log = opts.logger.child({ stage: 'deliver' });
  const now = opts.nowMs ?? Date.now;
  const sink: DeliverySink = opts.sink ?? { write: () => undefined };
  // A sink that confirms durability buffers rows a crash can lose: they are journaled until confirmed.
  const journalRows = sink.durable !== undefined;
  let sinkError = false;
  const store = (table: 'messages' | 'message_events', row: Record<string, unknown>): void => {
    if (!journalRows) {
      sink.write(table, row);
      return;
    }
    // Journaled first: a row the sink refuses (closed, full) is written again by the next start.
    opts.outbox.record(table, row);
    try {
      sink.write(table, row);
    } catch (err) {
      if (!sinkError) log.warn({ err }, 'the sink refused a row; it stays journaled for the next start');
      sinkError = true;
    }
  };
  const counters: BindCounters = {
    submitted: 0,
    throttled: 0,
    failed: 0,
    unknown: 0,
    reconnects: 0,
    bindRefusals: 0,
  };
  const inFlightKeys = new Set<string>();
  const lastCampaign = new Map<string, { tenant: string; campaignId: string; storeId: string }>();
  const assembler = createMoAssembler();
  let ref = Math.floor(Math.random() * 256);
  let rr = 0;
  let closed = false;
  // Messages with parts accepted by the SMSC, until their final receipt (or validity + grace).
  const meta = new Map<string, LiveMessage>();

  const event = (intent: OutboxIntent, ev: string, extra: Record<string, unknown> = {}): void => {
    store('message_events', {
      ts: now(),
      message_id: intent.id,
      tenant: intent.tenant,
      campaign_id: intent.campaignId,
      store_id: intent.storeId,
      sid: intent.sid,
      event: ev,
      parts: 0,
      smsc_message_id: '',
      error_code: '',
      detail: '',
      ...extra,
    });
  };
  const messageRow = (intent: OutboxIntent, status: string, extra: Record<string, unknown> = {}): void => {
    store('messages', {
      message_id: intent.id,
      idempotency_key: intent.key,
      tenant: intent.tenant,
      campaign_id: intent.campaignId,
      fence_id: intent.fenceId,
      store_id: intent.storeId,
      sid: intent.sid,
      parts: intent.parts,
      encoding: intent.encoding,
      sender: intent.senderId,
      status,
      smsc_message_id: '',
      created_at: intent.tsMs,
      submitted_at: null,
      done_at: null,
      updated_at: now(),
      ...extra,
    });
  };

  const tracker = createReceiptTracker({
    onPartState(msg, part, state, receipt) {
      const intent = meta.get(msg.messageId)?.intent;
      opts.outbox.partState(msg.messageId, part, state);
      if (intent)
        event(intent, EVENT_NAME[state], {
          smsc_message_id: receipt.id,
          error_code: receipt.err ?? '',
          detail: `part ${part + 1}/${msg.parts}`,
        });
    },
    onMessageFinal(msg, state) {
      opts.outbox.untrack(msg.messageId);
      const live = meta.get(msg.messageId);
      if (!live) return;
      // A receipt can beat the last submit_sm_resp: the final row then waits for the submit outcome.
      live.finalState = state;
      if (!live.submitDone) return;
      meta.delete(msg.messageId);
      messageRow(live.intent, MESSAGE_STATUS[state], {
        smsc_message_id: live.firstSmscId,
        submitted_at: live.submittedAt,
        done_at: now(),
      });
    },
  });

  // Messages in flight when the previous process died: recorded unknown, never resent.
  for (const intent of opts.outbox.recovered) {
    messageRow(intent, 'unknown');
    event(intent, 'unknown', { error_code: 'DELIVERY_UNKNOWN', detail: 'in flight at restart' });
    opts.outbox.settle(intent.id, 'unknown');
  }
  if (opts.outbox.recovered.length > 0)
    log.warn({ count: opts.outbox.recovered.length }, 'recovered in-flight messages as unknown');
  // Messages the previous runs submitted and whose receipts are still due: correlated as before.
  for (const t of opts.outbox.tracked) {
    const msg: TrackedMessage = {
      messageId: t.intent.id,
      parts: t.intent.parts,
      states: t.states as MessageState[],
      expiresAtMs: t.expiresAtMs,
      done: false,
    };
    meta.set(msg.messageId, {
      intent: t.intent,
      submitDone: true,
      submittedAt: t.submittedAtMs,
      firstSmscId: t.smscIds.find((id) => id !== '') ?? '',
    });
    for (let part = 0; part < t.smscIds.length; part++) tracker.register(msg, part, t.smscIds[part], now());
  }

  // Rows the previous runs journaled and the store never confirmed are written again; events the
  // store already holds are skipped (messages rows replace themselves: latest `updated_at` wins).
  // Until that is done no confirmation is journaled, since it would cover these older rows too.
  let replayed = !journalRows || opts.outbox.unconfirmedRows.length === 0;
  let replaying: Promise<void> | undefined;
  const replayRows = (): Promise<void> => {
    replaying ??= (async () => {
      const rows = opts.outbox.unconfirmedRows;
      const ids = [...new Set(rows.filter((r) => r.table === 'message_events').map((r) => r.row.message_id))];
      const known = sink.eventKeys ? await sink.eventKeys(ids as string[]) : new Set<string>();
      let written = 0;
      for (const { table, row } of rows) {
        if (table === 'message_events' && known.has(eventKey(row as Parameters<typeof eventKey>[0])))
          continue;
        sink.write(table, row);
        written++;
      }
      replayed = true;
      log.info({ journaled: rows.length, written }, 'rows of the previous run written again');
    })().catch((err: unknown) => {
      replaying = undefined;
      log.warn({ err }, "cannot write the previous run's rows yet; retrying");
    });
    return replaying;
  };
  if (!replayed) void replayRows();
  let confirming = false;
  /** Journals that every row recorded so far is durable in the store, once the sink says so. */
  const confirmRows = (): void => {
    if (!journalRows || confirming || closed) return;
    if (!replayed) {
      void replayRows();
      return;
    }
    const seq = opts.outbox.rowSeq;
    confirming = true;
    sink.durable!()
      .then(
        () => opts.outbox.confirm(seq),
        (err: unknown) => log.warn({ err }, 'store rows not confirmed'),
      )
      .finally(() => {
        confirming = false;
      });
  };

  // A receipt's deliver_sm is answered once its effect is journaled: one not answered is redelivered.
  const onDeliver = (pdu: Pdu, raw: Buffer): Promise<void> | undefined => {
    const t = now();
    const esm = Number(pdu.esm_class ?? 0);
    const text = typeof pdu.short_message?.message === 'string' ? pdu.short_message.message : undefined;
    const isReceipt = (esm & RECEIPT_ESM_MASK) !== 0 || pdu.receipted_message_id !== undefined;
    if (isReceipt) {
      const receipt = readReceipt({
        receiptedMessageId: pdu.receipted_message_id,
        messageState: pdu.message_state,
        text,
      });
      if (!receipt) {
        log.warn('unparseable delivery receipt');
        return undefined;
      }
      const rawId = pdu.receipted_message_id ?? /id:\s*(\S+)/i.exec(text ?? '')?.[1];
      let parkedDone: (() => void) | undefined;
      const parked = new Promise<void>((resolve) => {
        parkedDone = resolve;
      });
      const r = tracker.receive(receipt, rawId, t, parkedDone);
      if (r === 'ignored') return undefined;
      if (r === 'applied') return opts.outbox.synced();
      // A receipt that beat its submit_sm_resp is answered once applied, or after the response
      // timeout: then its submit is unknown or it is not ours (e.g. a repeat of one finished before
      // a restart), and holding it longer would only stall the SMSC.
      const hold = new Promise<void>((resolve) => setTimeout(resolve, parkedAckMs).unref());
      return Promise.race([parked, hold]).then(() => opts.outbox.synced());
    }
    const fields = readDeliverSmRaw(raw);
    const from = String(pdu.source_addr ?? '');
    const full = assembler.add(from, fields.payload, (fields.esmClass & 0x40) !== 0, fields.dataCoding, t);
    if (full === undefined) return undefined;
    const sid = opts.directory.reverse(from) ?? '';
    const shortCode = String(pdu.destination_addr ?? '');
    const kw = classifyMo(full);
    const moId = randomUUID();
    const mo = { moId, sid, shortCode, text: full, tsMs: t };
    let outcome: MoOutcome | undefined;
    if (opts.mo?.handle) {
      if (sid !== '') outcome = opts.mo.handle(mo);
    } else if (kw.action === 'opt_out' && sid !== '') opts.mo?.onOptOut?.(sid, kw.keyword, mo);
    else opts.mo?.onReply?.(mo);
    const attributed = lastCampaign.get(sid);
    let action: string = kw.action;
    if (outcome) {
      action = outcome.action === 'none' && kw.action === 'help' ? 'help' : outcome.action;
      if (outcome.repeat) action = `${action}_repeat`;
    }
    sink.write('mo_messages', {
      ts: t,
      mo_id: moId,
      sid,
      short_code: shortCode,
      keyword: outcome ? (outcome.keyword || kw.keyword).toUpperCase() : kw.keyword,
      action,
      tenant: outcome?.tenant || attributed?.tenant || '',
      campaign_id: outcome?.campaignId || attributed?.campaignId || '',
      store_id: outcome?.storeId || attributed?.storeId || '',
    });
    let replied: Promise<void> | undefined;
    if (outcome?.reply && !closed) {
      void submit({
        idempotencyKey: `mo-reply:${outcome.replyKey ?? moId}`,
        sid,
        campaignId: '',
        fenceId: '',
        // The operator's message, not the retailer's: no campaign, no tenant in messages or reports.
        tenant: '',
        senderId: shortCode,
        text: outcome.reply,
        validityMinutes: REPLY_VALIDITY_MINUTES,
      }).then((r) => {
        if (r.status !== 'submitted') log.warn({ status: r.status, error: r.errorCode }, 'MO reply not sent');
      });
      // The reply's queue record is among the journal writes in flight (one group commit).
      if (journaling.size > 0) replied = Promise.all(journaling).then(() => undefined);
    }
    // Answered once the row, the effects of the handler (consent rows, same writer) and the reply
    // order are durable: an MO lost in a crash before that is delivered again by the SMSC.
    const durable = sink.durable?.();
    if (durable === undefined && replied === undefined) return undefined;
    return Promise.all([durable, replied]).then(() => undefined);
  };

  const parkedAckMs = Math.max(...opts.accounts.map((a) => a.responseTimeoutMs));
  const accounts: AccountRuntime[] = opts.accounts.map((account) => {
    const queue = createPartQueue(account.senderIdTps);
    // Enough look-ahead to hide a journal flush (~50 ms of sending) and no more: after a crash, at
    // most this many messages journaled but not yet written come back `unknown` instead of unsent.
    const rate = account.tps > 0 ? account.tps * account.binds : Number.POSITIVE_INFINITY;
    const lookahead = Math.max(1, Math.min(account.window * account.binds * 4, Math.ceil(rate * 0.05)));
    const binds: Bind[] = [];
    for (let i = 0; i < account.binds; i++) {
      binds.push(
        createBind({
          account,
          index: i,
          queue,
          logger: log.child({ account: account.name }),
          onDeliver,
          counters,
          lookahead,
        }),
      );
    }
    return { account, queue, binds, lookahead };
  });
  for (const a of accounts) for (const b of a.binds) b.start();

  let ticks = 0;
  const sweeper = setInterval(() => {
    const t = now();
    // With no bind up nothing leaves the queue: expire what outlived its validity anyway.
    for (const a of accounts) {
      if (a.binds.some((b) => b.bound) || a.queue.length === 0) continue;
      for (const p of a.queue.drain()) {
        if (p.expiresAtMs < t) p.owner.settle(p, { kind: 'expired' });
        else a.queue.pushBack([p]);
      }
    }
    confirmRows();
    if (++ticks % 10 === 0) {
      tracker.sweep(t);
      assembler.expire(t);
    }
  }, 1000);
  sweeper.unref();

  if (opts.metrics) {
    registerDeliverMetrics(opts.metrics, {
      counters,
      bound: () => accounts.reduce((n, a) => n + a.binds.filter((b) => b.bound).length, 0),
      queued: () => accounts.reduce((n, a) => n + a.queue.length, 0),
      tracked: () => tracker.size,
    });
  }

  const pickAccount = (): AccountRuntime => {
    for (let i = 0; i < accounts.length; i++) {
      const a = accounts[(rr + i) % accounts.length];
      if (a.binds.some((b) => b.bound)) {
        rr = (rr + i + 1) % accounts.length;
        return a;
      }
    }
    return accounts[rr++ % accounts.length];
  };

  // Queue records being written: `journaled()` waits for them; a failed write is reported once there.
  const journaling = new Set<Promise<void>>();
  let journalError: unknown;

  /** Sends an order; `recovered` is the journal's record of one queued by an earlier run. */
  const submit = async (msg: OutboundSms, recovered?: OutboxOrder): Promise<SendResult> => {
    const messageId = msg.messageId ?? randomUUID();
    const none = (status: SendStatus, errorCode?: string): SendResult => {
      if (recovered) {
        // A recovered order has a sent decision: its row says why it stopped here.
        store('messages', {
          message_id: messageId,
          idempotency_key: recovered.key,
          tenant: recovered.tenant,
          campaign_id: recovered.campaignId,
          fence_id: recovered.fenceId,
          store_id: recovered.storeId,
          sid: recovered.sid,
          parts: 0,
          encoding: '',
          sender: recovered.senderId,
          status: status === 'blocked' ? 'rejected' : 'failed',
          smsc_message_id: '',
          created_at: recovered.tsMs,
          submitted_at: null,
          done_at: now(),
          updated_at: now(),
        });
        opts.outbox.settle(messageId, status);
      }
      return { status, messageId, parts: 0, smscIds: [], errorCode };
    };
    if (closed) {
      // Closed before it could be queued again: a recovered order stays journaled for the next start.
      return recovered
        ? { status: 'queued', messageId, parts: 0, smscIds: [] }
        : none('failed', 'SMPP_NOT_BOUND');
    }
    if (!recovered && (inFlightKeys.has(msg.idempotencyKey) || opts.outbox.has(msg.idempotencyKey)))
      return none('duplicate');
    const msisdn = opts.directory.lookup(msg.sid);
    if (msisdn === undefined) return none('directory_miss', 'DIRECTORY_MISS');
    // A service message (campaignId '', an opt-out confirmation) is not marketing: no consent check.
    const service = msg.campaignId === '';
    const allowed = (): boolean =>
      (service || (opts.consentCheck?.(msg.sid, msg.tenant ?? '') ?? true)) &&
      !(opts.blocklist?.(msisdn) ?? false);
    if (!allowed()) return none('blocked');
    let encoded: ReturnType<typeof encodeSms>;
    try {
      ref = (ref + 1) & 0xff;
      encoded = encodeSms(msg.text, ref);
    } catch (err) {
      return none('failed', isAppError(err) ? err.code : 'SMS_ENCODING_FAILED');
    }
    const account = pickAccount();
    const receipts = account.account.registeredDelivery;
    const validityMin = msg.validityMinutes ?? account.account.validityMinutes;
    const intent: OutboxIntent = {
      id: messageId,
      key: msg.idempotencyKey,
      sid: msg.sid,
      campaignId: msg.campaignId,
      fenceId: msg.fenceId,
      storeId: msg.storeId ?? '',
      tenant: msg.tenant ?? '',
      senderId: msg.senderId,
      parts: encoded.parts.length,
      encoding: encoded.encoding === 'GSM-7' ? 'GSM7' : 'UCS2',
      tsMs: recovered?.tsMs ?? now(),
    };
    inFlightKeys.add(msg.idempotencyKey);
    if (!recovered) {
      // The order is journaled as it enters the queue, so a crash before it is sent loses nothing.
      const q = opts.outbox.enqueue({
        id: messageId,
        key: intent.key,
        sid: intent.sid,
        campaignId: intent.campaignId,
        fenceId: intent.fenceId,
        storeId: intent.storeId,
        tenant: intent.tenant,
        senderId: intent.senderId,
        text: msg.text,
        validityMinutes: validityMin,
        tsMs: intent.tsMs,
      });
      journaling.add(q);
      q.then(
        () => journaling.delete(q),
        (err: unknown) => {
          journaling.delete(q);
          journalError ??= err;
        },
      );
    }
    const src = addressOf(msg.senderId);
    // Validity runs from acceptance: a recovered order keeps only what is left of it.
    const expiresAtMs = intent.tsMs + validityMin * 60_000;
    const validity = relativeValidity(Math.max(0, expiresAtMs - now()) / 60_000);
    return new Promise<SendResult>((resolve) => {
      const outcomes: (PartOutcome | undefined)[] = new Array(encoded.parts.length).fill(undefined);
      let settled = 0;
      let aborted = false;
      const tracked: TrackedMessage = {
        messageId,
        parts: encoded.parts.length,
        states: new Array(encoded.parts.length).fill('queued'),
        expiresAtMs: expiresAtMs + RECEIPT_GRACE_MS,
        done: false,
      };
      const live: LiveMessage = { intent, submitDone: false, submittedAt: null, firstSmscId: '' };
      // At most once: the intent is journaled (fdatasync) when the first part is about to leave, so
      // a crash loses nothing that was merely queued and never resends what may have been submitted.
      let journal: Promise<void> | undefined;
      let journaled = false;
      let written = false;
      const owner: PartOwner = {
        precheck: allowed,
        durable() {
          if (journaled) return undefined;
          journal ??= opts.outbox.intend(intent).then(() => {
            journaled = true;
          });
          return journal;
        },
        written() {
          written = true;
        },
        release() {
          if (written || aborted) return false;
          // The intent is withdrawn; the queued order stays journaled for the next start.
          if (journal) opts.outbox.requeue(messageId);
          journal = undefined;
          journaled = false;
          return true;
        },
        get aborted() {
          return aborted;
        },
        settle(part: OutPart, outcome: PartOutcome) {
          if (outcomes[part.index] !== undefined) return;
          outcomes[part.index] = outcome;
          settled++;
          const detail = `part ${part.index + 1}/${outcomes.length}`;
          if (outcome.kind === 'submitted') {
            tracked.states[part.index] = 'submitted';
            if (live.firstSmscId === '') live.firstSmscId = outcome.smscId;
            live.submittedAt ??= now();
            meta.set(messageId, live);
            // One event per accepted part, so summing `parts` over events counts SMS parts.
            event(intent, 'submitted', { parts: 1, smsc_message_id: outcome.smscId, detail });
            if (receipts) opts.outbox.track(intent, part.index, outcome.smscId, tracked.expiresAtMs);
            tracker.register(tracked, part.index, outcome.smscId, now());
          } else {
            if (outcome.kind === 'failed')
              event(intent, 'submit_failed', { error_code: outcome.error, detail });
            else if (outcome.kind === 'unknown')
              event(intent, 'unknown', { error_code: outcome.error, detail });
            else if (outcome.kind === 'expired') event(intent, 'expired', { detail });
            if (outcome.kind !== 'unknown' && outcome.kind !== 'deferred') aborted = true;
          }
          if (settled === outcomes.length) finish();
        },
      };
      const finish = (): void => {
        inFlightKeys.delete(msg.idempotencyKey);
        live.submitDone = true;
        const smscIds = outcomes.map((o) => (o?.kind === 'submitted' ? o.smscId : ''));
        const kinds = outcomes.map((o) => o?.kind);
        let status: SendStatus;
        let errorCode: string | undefined;
        if (kinds[0] === 'blocked') status = 'blocked';
        else if (kinds.every((k) => k === 'deferred')) status = 'queued';
        else if (kinds.includes('unknown')) status = 'unknown';
        else if (kinds.every((k) => k === 'submitted')) status = 'submitted';
        else if (kinds.includes('failed')) status = 'failed';
        else status = 'expired';
        for (const o of outcomes)
          if (o && (o.kind === 'failed' || o.kind === 'unknown')) errorCode ??= o.error;
        // A deferred order keeps its queue record (the next start sends it); any other outcome ends it.
        if (status !== 'queued') opts.outbox.settle(messageId, status);
        const t = now();
        if (status === 'submitted') {
          if (live.finalState !== undefined) {
            meta.delete(messageId);
            messageRow(intent, MESSAGE_STATUS[live.finalState], {
              smsc_message_id: smscIds[0],
              submitted_at: live.submittedAt,
              done_at: t,
            });
          } else
            messageRow(intent, 'submitted', { smsc_message_id: smscIds[0], submitted_at: live.submittedAt });
          if (!service) {
            if (lastCampaign.size >= LAST_CAMPAIGN_CAP)
              lastCampaign.delete(lastCampaign.keys().next().value as string);
            lastCampaign.set(msg.sid, {
              tenant: intent.tenant,
              campaignId: intent.campaignId,
              storeId: intent.storeId,
            });
          }
        } else {
          // Parts accepted before another part failed still get receipts (events); the row says why it stopped.
          if (!smscIds.some((id) => id !== '')) meta.delete(messageId);
          messageRow(intent, status === 'blocked' ? 'rejected' : status, {
            smsc_message_id: live.firstSmscId,
            submitted_at: live.submittedAt,
            done_at: status === 'unknown' || status === 'queued' ? null : t,
          });
        }
        resolve({
          status,
          messageId,
          parts: outcomes.length,
          encoding: encoded.encoding,
          smscIds,
          errorCode,
        });
      };
      const parts: OutPart[] = encoded.parts.map((sm, index) => ({
        owner,
        index,
        senderId: msg.senderId,
        expiresAtMs,
        retries: 0,
        params: {
          source_addr_ton: src.ton,
          source_addr_npi: src.npi,
          source_addr: msg.senderId,
          dest_addr_ton: 1,
          dest_addr_npi: 1,
          destination_addr: msisdn,
          esm_class: encoded.udh ? 0x40 : 0,
          registered_delivery: account.account.registeredDelivery ? 1 : 0,
          validity_period: validity,
          data_coding: encoded.dataCoding,
          short_message: sm,
        },
      }));
      account.queue.pushBack(parts);
      // Near the head of the queue the intent is journaled right away, so the disk flush overlaps the
      // submits ahead of it instead of holding window slots; a crash can then turn at most this
      // look-ahead of not-yet-submitted messages into `unknown` (never into a duplicate).
      if (account.queue.length <= account.lookahead) void owner.durable()?.catch(() => undefined);
      for (const b of account.binds) b.pump();
    });
  };

  let recovering: Promise<SendResult[]> | undefined;
  const recover = (): Promise<SendResult[]> => {
    recovering ??= (async () => {
      const orders = opts.outbox.recoveredQueued;
      if (orders.length === 0) return [];
      log.info({ count: orders.length }, 'sending orders queued by the previous run');
      const results = await Promise.all(
        orders.map((o) =>
          submit(
            {
              idempotencyKey: o.key,
              messageId: o.id,
              sid: o.sid,
              campaignId: o.campaignId,
              fenceId: o.fenceId,
              storeId: o.storeId,
              tenant: o.tenant,
              senderId: o.senderId,
              text: o.text,
              validityMinutes: o.validityMinutes,
            },
            o,
          ),
        ),
      );
      const statuses: Record<string, number> = {};
      for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      log.info({ statuses }, 'orders queued by the previous run are done');
      return results;
    })();
    return recovering;
  };

  return {
    send: (msg) => submit(msg),
    recover,
    async journaled() {
      if (journaling.size > 0) await Promise.all(journaling).catch(() => undefined);
      if (journalError !== undefined) {
        const err = journalError;
        journalError = undefined;
        throw err;
      }
    },
    status(): SenderStatus {
      return {
        accounts: accounts.map((a) => ({
          name: a.account.name,
          binds: a.binds.length,
          bound: a.binds.filter((b) => b.bound).length,
          queued: a.queue.length,
          inFlight: a.binds.reduce((n, b) => n + b.inFlight, 0),
        })),
        outboxPending: opts.outbox.pending,
      };
    },
    async close() {
      closed = true;
      clearInterval(sweeper);
      if (replaying) await replaying;
      await Promise.all(accounts.flatMap((a) => a.binds.map((b) => b.stop())));
      // A part whose intent was being flushed returns to the queue once the flush is done.
      const end = Date.now() + 1000;
      while (Date.now() < end && accounts.some((a) => a.binds.some((b) => b.inFlight > 0)))
        await new Promise((r) => setTimeout(r, 5));
      // Parts never written to a socket were not sent: a message none of whose parts left stays
      // journaled as queued (the next start sends it, `queued`); the others end failed.
      for (const a of accounts) {
        for (const p of a.queue.drain()) {
          if (p.owner.release()) p.owner.settle(p, { kind: 'deferred' });
          else p.owner.settle(p, { kind: 'failed', error: 'SMPP_NOT_BOUND' });
        }
      }
    },
  };
}
