import { z } from 'zod';
import { AppError } from '../errors.ts';

/** One SMSC account; every limit has a default that fits a typical 50 SMS/s contract. */
export const smppAccountSchema = z.object({
  name: z.string().min(1).default('default').describe('Account name used in logs and metrics.'),
  host: z.string().min(1).default('127.0.0.1').describe('SMSC host.'),
  port: z.number().int().min(1).max(65535).default(2775).describe('SMSC port.'),
  systemId: z.string().min(1).max(15).describe('system_id of the bind.'),
  password: z.string().max(8).default('').describe('Bind password (SMPP 3.4 allows 8 octets).'),
  systemType: z.string().max(12).default('').describe('system_type of the bind.'),
  bindType: z
    .enum(['transceiver', 'transmitter+receiver'])
    .default('transceiver')
    .describe('One transceiver per bind, or a transmitter plus a receiver.'),
  binds: z.number().int().min(1).max(64).default(1).describe('Parallel binds to open.'),
  tps: z.number().min(0).max(100_000).default(50).describe('SMS parts per second per bind (0 = unlimited).'),
  senderIdTps: z
    .record(z.string(), z.number().min(0.1).max(100_000))
    .default({})
    .describe('Parts per second per sender ID, across all binds of the account.'),
  window: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(10)
    .describe('Most submit_sm awaiting a response per bind.'),
  enquireLinkSec: z.number().min(1).max(3600).default(30).describe('Seconds between enquire_link probes.'),
  responseTimeoutMs: z
    .number()
    .int()
    .min(50)
    .max(300_000)
    .default(10_000)
    .describe('Time to wait for any response PDU before the request counts as lost.'),
  reconnectMinMs: z.number().int().min(10).max(600_000).default(1000).describe('First reconnect delay.'),
  reconnectMaxMs: z.number().int().min(10).max(3_600_000).default(60_000).describe('Reconnect delay cap.'),
  throttleBackoffMs: z
    .number()
    .int()
    .min(1)
    .max(600_000)
    .default(100)
    .describe(
      'Pause of a bind after ESME_RTHROTTLED / ESME_RMSGQFUL (doubles while it repeats, up to 30 s).',
    ),
  validityMinutes: z.number().int().min(1).max(10_080).default(120).describe('Default validity period.'),
  registeredDelivery: z.boolean().default(true).describe('Request delivery receipts.'),
});

export type SmppAccount = z.infer<typeof smppAccountSchema>;
export type SmppAccountInput = z.input<typeof smppAccountSchema>;

/** Parses the SMPP_ACCOUNTS JSON (an array of accounts) with per-account defaults. */
export function parseSmppAccounts(json: string): SmppAccount[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new AppError('CONFIG_INVALID', 'SMPP_ACCOUNTS is not valid JSON', { cause: err });
  }
  const parsed = z.array(smppAccountSchema).min(1).safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  SMPP_ACCOUNTS.${i.path.join('.')}: ${i.message}`);
    throw new AppError('CONFIG_INVALID', `invalid SMPP account:\n${lines.join('\n')}`, {
      details: parsed.error.issues,
    });
  }
  for (const a of parsed.data) {
    if (a.reconnectMaxMs < a.reconnectMinMs) {
      throw new AppError('CONFIG_INVALID', `SMPP account ${a.name}: reconnectMaxMs < reconnectMinMs`);
    }
  }
  return parsed.data;
}

/** Account with defaults filled in, for code and tests that build accounts directly. */
export function smppAccount(input: SmppAccountInput): SmppAccount {
  return smppAccountSchema.parse(input);
}
