import net from 'node:net';
import smpp from 'smpp';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** A decoded PDU as the `smpp` package represents it (fields by SMPP name). */
export type Pdu = Record<string, any> & {
  command: string;
  command_id: number;
  command_status: number;
  sequence_number: number;
};

export interface ConnectionOptions {
  host: string;
  port: number;
  responseTimeoutMs: number;
  /** Milliseconds between enquire_link probes; an unanswered probe closes the connection. */
  enquireLinkMs: number;
  logger: Logger;
  /** Requests from the SMSC (deliver_sm, enquire_link, unbind, ...); the handler must answer them. */
  onRequest: (pdu: Pdu, raw: Buffer) => void;
  /** Called once when the connection is gone, after every pending request has been rejected. */
  onClose: (err: AppError) => void;
}

/** Builds a request frame for the sequence number it is given (the submit_sm fast path). */
export type FrameEncoder = (sequence: number) => Buffer;

export interface SmppConnection {
  /**
   * Sends a request (fields for the `smpp` PDU codec, or a frame encoder) and resolves with its
   * response, whatever its command_status; rejects on timeout or loss.
   */
  request(command: string, params: Record<string, unknown> | FrameEncoder): Promise<Pdu>;
  /** Answers a request from the SMSC. */
  respond(req: { command: string; sequence_number: number }, params?: Record<string, unknown>): void;
  /** Sends a generic_nack for an undecodable request. */
  nack(sequence: number, status: number): void;
  readonly pending: number;
  readonly closed: boolean;
  /** Unbinds politely (bounded by the response timeout), then closes. */
  close(): Promise<void>;
  /** Drops the TCP connection at once; everything in flight is rejected. */
  destroy(reason: string): void;
}

interface Pending {
  resolve: (pdu: Pdu) => void;
  reject: (err: AppError) => void;
  deadline: number;
  command: string;
}

const HEADER = 16;
const MAX_PDU = 65_536;
const { PDU } = smpp as unknown as { PDU: any };

/**
 * Opens a TCP connection to an SMSC. The `smpp` package's Session is not used for the client: its
 * reader stops for good after one undecodable PDU (the error path never clears its busy flag) and it
 * has no response timers. Here framing is ours — a bad PDU is answered with generic_nack or fails only
 * its own request — and the package's PDU class does the field encoding and decoding.
 */
export function openSmppConnection(opts: ConnectionOptions): Promise<SmppConnection> {
  return new Promise((resolveOpen, rejectOpen) => {
    const log = opts.logger;
    const socket = net.connect({ host: opts.host, port: opts.port });
    socket.setNoDelay(true);
    const pending = new Map<number, Pending>();
    let seq = 0;
    let closed = false;
    let opened = false;
    let buf: Buffer = Buffer.alloc(0);
    let closeReason: AppError | undefined;

    const fail = (err: AppError): void => {
      if (closed) return;
      closed = true;
      closeReason = err;
      clearInterval(sweep);
      clearInterval(probe);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      socket.destroy();
      if (opened) opts.onClose(err);
      else rejectOpen(err);
    };

    const nextSeq = (): number => {
      seq = seq >= 0x7fffffff ? 1 : seq + 1;
      return seq;
    };

    let corked = false;
    const uncork = (): void => {
      corked = false;
      socket.uncork();
    };
    const write = (pdu: any | Buffer): boolean => {
      if (closed) return false;
      // PDUs written in one tick leave in one TCP write (a window of submits is one syscall).
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      return socket.write(Buffer.isBuffer(pdu) ? pdu : pdu.toBuffer());
    };

    const request = (command: string, params: Record<string, unknown> | FrameEncoder): Promise<Pdu> => {
      if (closed) {
        return Promise.reject(
          closeReason ?? new AppError('SMPP_CONNECTION_LOST', 'connection closed', { retriable: true }),
        );
      }
      const sequence_number = nextSeq();
      return new Promise<Pdu>((resolve, reject) => {
        pending.set(sequence_number, {
          resolve,
          reject,
          deadline: Date.now() + opts.responseTimeoutMs,
          command,
        });
        try {
          write(
            typeof params === 'function'
              ? params(sequence_number)
              : new PDU(command, { ...params, sequence_number }),
          );
        } catch (err) {
          pending.delete(sequence_number);
          reject(new AppError('SMS_ENCODING_FAILED', `cannot encode ${command}`, { cause: err }));
        }
      });
    };

    const handleFrame = (frame: Buffer): void => {
      const commandId = frame.readUInt32BE(4);
      const status = frame.readUInt32BE(8);
      const sequence = frame.readUInt32BE(12);
      const isResponse = (commandId & 0x80000000) !== 0;
      let pdu: Pdu;
      try {
        pdu = new PDU(frame) as Pdu;
      } catch (err) {
        log.warn({ commandId, sequence, err }, 'undecodable PDU');
        if (isResponse) {
          const p = pending.get(sequence);
          if (p) {
            pending.delete(sequence);
            p.reject(new AppError('SMPP_REJECTED', 'undecodable response PDU', { cause: err }));
          }
        } else {
          // ESME_RINVCMDLEN: the body did not match the command's layout.
          nack(sequence, 0x02);
        }
        return;
      }
      if (pdu.command === 'generic_nack') {
        const p = pending.get(sequence);
        if (p) {
          pending.delete(sequence);
          p.resolve(pdu);
        } else {
          // Sequence 0 (or unknown): no request can be matched; their own timers will fail them.
          log.warn({ status, sequence }, 'generic_nack without a matching request');
        }
        return;
      }
      if (pdu.command === 'unknown') {
        if (!isResponse) nack(sequence, 0x03);
        return;
      }
      if (isResponse) {
        const p = pending.get(sequence);
        if (p) {
          pending.delete(sequence);
          p.resolve(pdu);
        } else {
          log.debug({ command: pdu.command, sequence }, 'response after its timeout');
        }
        return;
      }
      opts.onRequest(pdu, frame);
    };

    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let off = 0;
      while (buf.length - off >= 4) {
        const len = buf.readUInt32BE(off);
        if (len < HEADER || len > MAX_PDU) {
          // The length word itself is garbage: the byte stream cannot be resynchronised.
          fail(
            new AppError('SMPP_CONNECTION_LOST', `bad PDU length ${len}; connection reset`, {
              retriable: true,
            }),
          );
          return;
        }
        if (buf.length - off < len) break;
        const frame = buf.subarray(off, off + len);
        off += len;
        handleFrame(frame);
        if (closed) return;
      }
      buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
    });
    socket.on('error', (err) => {
      fail(
        new AppError('SMPP_CONNECTION_LOST', `socket error: ${err.message}`, { retriable: true, cause: err }),
      );
    });
    socket.on('close', () => {
      fail(new AppError('SMPP_CONNECTION_LOST', 'connection closed by peer', { retriable: true }));
    });

    // One sweep fails requests past their deadline (cheaper than a timer per PDU at thousands/s).
    const sweepMs = Math.max(10, Math.min(250, Math.floor(opts.responseTimeoutMs / 4)));
    const sweep = setInterval(() => {
      const now = Date.now();
      for (const [s, p] of pending) {
        if (p.deadline > now) continue;
        pending.delete(s);
        p.reject(new AppError('SMPP_TIMEOUT', `no ${p.command}_resp within ${opts.responseTimeoutMs} ms`));
      }
    }, sweepMs);
    sweep.unref();
    let probe: NodeJS.Timeout | undefined;

    const nack = (sequence: number, status: number): void => {
      write(new PDU('generic_nack', { sequence_number: sequence, command_status: status }));
    };

    const conn: SmppConnection = {
      request,
      nack,
      respond(req, params = {}) {
        write(new PDU(`${req.command}_resp`, { ...params, sequence_number: req.sequence_number }));
      },
      get pending() {
        return pending.size;
      },
      get closed() {
        return closed;
      },
      async close() {
        if (closed) return;
        try {
          await request('unbind', {});
        } catch {
          // unbind is a courtesy; the connection is closed either way
        }
        socket.end();
        fail(new AppError('SMPP_CONNECTION_LOST', 'connection closed locally', { retriable: true }));
      },
      destroy(reason) {
        fail(new AppError('SMPP_CONNECTION_LOST', reason, { retriable: true }));
      },
    };

    socket.once('connect', () => {
      opened = true;
      probe = setInterval(() => {
        request('enquire_link', {}).catch((err: AppError) => {
          if (err.code === 'SMPP_TIMEOUT') conn.destroy('enquire_link unanswered; forcing reconnect');
        });
      }, opts.enquireLinkMs);
      probe.unref();
      resolveOpen(conn);
    });
  });
}
