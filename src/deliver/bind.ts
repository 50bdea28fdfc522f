import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { SmppAccount } from './account-config.ts';
import { classifyStatus } from './command-status.ts';
import type { OutPart, PartQueue } from './part-queue.ts';
import { encodeSubmitSm } from './pdu-raw.ts';
import { openSmppConnection, type Pdu, type SmppConnection } from './smpp-connection.ts';
import { createTokenBucket } from './token-bucket.ts';

export interface BindCounters {
  submitted: number;
  throttled: number;
  failed: number;
  unknown: number;
  reconnects: number;
  bindRefusals: number;
}

export interface BindOptions {
  account: SmppAccount;
  index: number;
  queue: PartQueue;
  logger: Logger;
  /**
   * deliver_sm from the SMSC (receipt or MO). A returned promise holds the answer until the effect is
   * durable; if it rejects, the answer is ESME_RX_T_APPN so the SMSC delivers it again later.
   */
  onDeliver: (pdu: Pdu, raw: Buffer) => Promise<void> | undefined;
  /** Called after each submit_sm_resp with the part's bind-level result (metrics, traces). */
  counters: BindCounters;
  /** Parts behind the head whose outbox intent is journaled ahead of time (see the sender). */
  lookahead?: number;
  random?: () => number;
}

export interface Bind {
  start(): void;
  /** Offers the bind a chance to take parts from the account queue. */
  pump(): void;
  stop(): Promise<void>;
  readonly bound: boolean;
  readonly inFlight: number;
}

// Most retries of a part that got a transient (non-throttling) error status.
const MAX_RETRIES = 3;
const MAX_THROTTLE_PAUSE_MS = 30_000;

/**
 * One bind to an SMSC account: a transceiver, or a transmitter plus a receiver. It reconnects with
 * capped exponential backoff and jitter, keeps at most `window` submits awaiting a response, takes a
 * token per part from its bucket, and after ESME_RTHROTTLED / ESME_RMSGQFUL pauses, then resends the
 * same part before anything else.
 */
export function createBind(opts: BindOptions): Bind {
  const { account, queue, counters } = opts;
  const log = opts.logger.child({ bind: opts.index });
  const random = opts.random ?? Math.random;
  const bucket = createTokenBucket(account.tps, 2, Date.now());
  const retry: OutPart[] = [];
  let tx: SmppConnection | undefined;
  let rx: SmppConnection | undefined;
  let bound = false;
  let stopped = true;
  let inFlight = 0;
  let pausedUntil = 0;
  let throttleStreak = 0;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let pumping = false;

  const arm = (ms: number): void => {
    const at = Date.now() + ms;
    if (timer && timerAt <= at) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      pump();
    }, ms);
  };

  const handleRequest = (conn: SmppConnection, pdu: Pdu, raw: Buffer): void => {
    switch (pdu.command) {
      case 'enquire_link':
        conn.respond(pdu);
        return;
      case 'unbind':
        conn.respond(pdu);
        conn.destroy('unbound by the SMSC');
        return;
      case 'deliver_sm':
      case 'data_sm': {
        let effect: Promise<void> | undefined;
        try {
          effect = opts.onDeliver(pdu, raw);
        } catch (err) {
          log.error({ err }, 'deliver_sm handler failed');
        }
        // Answered even when the handler threw: a PDU it cannot handle would be redelivered forever.
        if (!effect) {
          conn.respond(pdu, { message_id: '' });
          return;
        }
        effect.then(
          () => conn.respond(pdu, { message_id: '' }),
          (err: unknown) => {
            log.error({ err }, 'deliver_sm effect not durable; answered ESME_RX_T_APPN');
            conn.respond(pdu, { command_status: 0x64, message_id: '' });
          },
        );
        return;
      }
      default:
        conn.nack(pdu.sequence_number, 0x03);
    }
  };

  const lost = (conn: SmppConnection, err: AppError): void => {
    if (conn !== tx && conn !== rx) return;
    log.warn({ code: err.code, reason: err.message }, 'bind lost');
    bound = false;
    const other = conn === tx ? rx : tx;
    tx = undefined;
    rx = undefined;
    other?.destroy('sibling connection lost');
    // Parts waiting to be resent were never accepted: back to the front of the shared queue.
    for (let i = retry.length - 1; i >= 0; i--) queue.pushFront(retry[i]);
    retry.length = 0;
    if (!stopped) scheduleReconnect();
  };

  const open = async (bindCommand: string): Promise<SmppConnection> => {
    let self: SmppConnection | undefined;
    const conn = await openSmppConnection({
      host: account.host,
      port: account.port,
      responseTimeoutMs: account.responseTimeoutMs,
      enquireLinkMs: account.enquireLinkSec * 1000,
      logger: log,
      onRequest: (pdu, raw) => self && handleRequest(self, pdu, raw),
      onClose: (err) => self && lost(self, err),
    });
    self = conn;
    let resp: Pdu;
    try {
      resp = await conn.request(bindCommand, {
        system_id: account.systemId,
        password: account.password,
        system_type: account.systemType,
        interface_version: 0x34,
      });
    } catch (err) {
      conn.destroy('bind request failed');
      throw err;
    }
    if (resp.command_status !== 0) {
      conn.destroy('bind refused');
      counters.bindRefusals++;
      throw new AppError(
        'SMPP_BIND_FAILED',
        `${bindCommand} refused: ${classifyStatus(resp.command_status).name}`,
        { retriable: true },
      );
    }
    return conn;
  };

  const connect = async (): Promise<void> => {
    reconnectTimer = undefined;
    if (stopped) return;
    try {
      let t: SmppConnection;
      let r: SmppConnection | undefined;
      if (account.bindType === 'transceiver') t = await open('bind_transceiver');
      else {
        t = await open('bind_transmitter');
        try {
          r = await open('bind_receiver');
        } catch (err) {
          t.destroy('receiver bind failed');
          throw err;
        }
      }
      if (stopped) {
        await Promise.all([t.close(), r?.close()]);
        return;
      }
      tx = t;
      rx = r;
      bound = true;
      attempt = 0;
      log.info({ account: account.name }, 'bound');
      pump();
    } catch (err) {
      log.warn({ err, attempt }, 'bind attempt failed');
      scheduleReconnect();
    }
  };

  const scheduleReconnect = (): void => {
    if (stopped || reconnectTimer) return;
    counters.reconnects++;
    const base = Math.min(account.reconnectMaxMs, account.reconnectMinMs * 2 ** Math.min(attempt, 20));
    attempt++;
    // Full jitter in the upper half, so many binds don't reconnect in lockstep.
    const delay = Math.round(base * (0.5 + random() * 0.5));
    reconnectTimer = setTimeout(connect, delay);
  };

  const onResponse = (part: OutPart, resp: Pdu): void => {
    const status = resp.command === 'generic_nack' && resp.command_status === 0 ? 0xff : resp.command_status;
    const entry = classifyStatus(status);
    switch (entry.action) {
      case 'ok':
        throttleStreak = 0;
        counters.submitted++;
        part.owner.settle(part, { kind: 'submitted', smscId: String(resp.message_id ?? '') });
        return;
      case 'throttle': {
        counters.throttled++;
        // One burst of throttled responses is one episode: only a throttle after the pause doubles it.
        if (Date.now() >= pausedUntil) throttleStreak++;
        // A lone throttle (jitter at the SMSC) costs about one token interval; repeats double the pause.
        const first =
          account.tps > 0
            ? Math.min(account.throttleBackoffMs, 1000 / account.tps)
            : account.throttleBackoffMs;
        const pause = Math.min(MAX_THROTTLE_PAUSE_MS, first * 2 ** (throttleStreak - 1));
        pausedUntil = Math.max(pausedUntil, Date.now() + pause);
        retry.push(part);
        return;
      }
      case 'retry':
        if (++part.retries > MAX_RETRIES) {
          counters.failed++;
          part.owner.settle(part, { kind: 'failed', error: entry.name });
        } else queue.pushFront(part);
        return;
      case 'rebind':
        queue.pushFront(part);
        tx?.destroy(`${entry.name}: rebinding`);
        return;
      default:
        counters.failed++;
        part.owner.settle(part, { kind: 'failed', error: entry.name });
    }
  };

  const write = (conn: SmppConnection, part: OutPart): void => {
    part.owner.written();
    conn
      .request('submit_sm', (seq) => encodeSubmitSm(seq, part.params))
      .then(
        (resp) => {
          inFlight--;
          onResponse(part, resp);
          pump();
        },
        (err: AppError) => {
          inFlight--;
          if (err.code === 'SMS_ENCODING_FAILED') {
            counters.failed++;
            part.owner.settle(part, { kind: 'failed', error: err.code });
          } else {
            // Written but unanswered: the SMSC may have accepted it, so it is never resent.
            counters.unknown++;
            part.owner.settle(part, { kind: 'unknown', error: err.code });
          }
          pump();
        },
      );
  };

  const submit = (conn: SmppConnection, part: OutPart): void => {
    // The window slot is held while the outbox intent is flushed (one group commit per pump round).
    inFlight++;
    const durable = part.owner.durable();
    if (!durable) {
      write(conn, part);
      return;
    }
    durable.then(
      () => {
        if (conn.closed) {
          // Never written: it goes back to the queue for the next bind.
          inFlight--;
          queue.pushFront(part);
          return;
        }
        write(conn, part);
      },
      (err: AppError) => {
        inFlight--;
        counters.failed++;
        part.owner.settle(part, { kind: 'failed', error: err.code ?? 'DELIVERY_UNKNOWN' });
        pump();
      },
    );
  };

  const pump = (): void => {
    if (pumping) return;
    pumping = true;
    try {
      while (bound && tx && !tx.closed && inFlight < account.window) {
        const now = Date.now();
        if (pausedUntil > now) {
          arm(pausedUntil - now);
          return;
        }
        if (retry.length === 0 && queue.length === 0) return;
        const wait = bucket.take(now);
        if (wait > 0) {
          arm(wait);
          return;
        }
        let part = retry.shift();
        if (!part) {
          const t = queue.take(now);
          if (t === undefined || typeof t === 'number') {
            bucket.refund();
            if (typeof t === 'number' && Number.isFinite(t)) arm(t);
            return;
          }
          part = t;
          // Keep the outbox flush ahead of the window: journal the message `lookahead` places back now.
          const ahead = opts.lookahead ? queue.peek(opts.lookahead - 1) : undefined;
          if (ahead) ahead.owner.durable()?.catch(() => undefined);
        }
        if (part.owner.aborted) {
          bucket.refund();
          part.owner.settle(part, { kind: 'skipped' });
          continue;
        }
        if (now > part.expiresAtMs) {
          bucket.refund();
          part.owner.settle(part, { kind: 'expired' });
          continue;
        }
        // Consent and blocklist are re-checked right before the first part leaves.
        if (part.index === 0 && !part.owner.precheck()) {
          bucket.refund();
          part.owner.settle(part, { kind: 'blocked' });
          continue;
        }
        submit(tx, part);
      }
    } finally {
      pumping = false;
    }
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      void connect();
    },
    pump,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      const t = tx;
      const r = rx;
      tx = undefined;
      rx = undefined;
      bound = false;
      for (let i = retry.length - 1; i >= 0; i--) queue.pushFront(retry[i]);
      retry.length = 0;
      await Promise.all([t?.close(), r?.close()]);
    },
    get bound() {
      return bound;
    },
    get inFlight() {
      return inFlight;
    },
  };
}
