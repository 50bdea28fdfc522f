// The walk-in scenario's moving parts shared by the e2e tests: the pings of a crowd walking into
// stores, the service's environment for a Kafka + SMPP run, and waiting for an SMSC to go quiet.
import type { Walker } from './expectations.ts';
import type { DemoSubscriber, Ping } from './world.ts';
import { walkIn } from './world.ts';

export const TOPIC = 'pings';
export const DLQ_TOPIC = 'pings-dlq';

/** The service's environment for pings from `bootstrap` and SMS to one SMPP account on loopback. */
export function kafkaSmppEnv(opts: {
  bootstrap: string;
  groupId: string;
  subscribers: number;
  smscPort: number;
  /** Parts per second of the bind (0 = unlimited). */
  tps?: number;
}): Record<string, string> {
  return {
    KAFKA_BROKERS: opts.bootstrap,
    PINGS_TOPIC: TOPIC,
    DLQ_TOPIC,
    KAFKA_GROUP_ID: opts.groupId,
    KAFKA_FROM_BEGINNING: 'true',
    DEMO_SUBSCRIBERS: String(opts.subscribers),
    SMPP_ACCOUNTS: JSON.stringify([
      {
        name: 'e2e-smsc',
        host: '127.0.0.1',
        port: opts.smscPort,
        systemId: 'geotrigger',
        password: 'e2e',
        tps: opts.tps ?? 1000,
      },
    ]),
  };
}

/**
 * Pings of a crowd: everyone is first seen far away (`first`); then walkers arrive over half a minute,
 * 20 s between their pings, while bystanders ping from far away again (`rest`, in time order). Each
 * subscriber's pings are in time order, starting at `t0`.
 */
export function crowdPings(
  walkers: readonly Walker[],
  bystanders: readonly DemoSubscriber[],
  outside: [number, number],
  t0: number,
): { first: Ping[]; rest: Ping[] } {
  const walks = walkers.map((w, k) => walkIn(w.sub.sid, w.store, outside, t0 + (k % 30) * 1000));
  const far = (sid: string, ts: number): Ping => ({
    sid,
    lon: outside[0],
    lat: outside[1],
    ts,
    acc: 10,
    src: 'gps',
  });
  const first = [...walks.map((w) => w[0]), ...bystanders.map((b) => far(b.sid, t0))];
  const rest = [...walks.flatMap((w) => w.slice(1)), ...bystanders.map((b) => far(b.sid, t0 + 60_000))];
  rest.sort((a, b) => a.ts - b.ts);
  return { first, rest };
}

/** Waits until `accepted()` has not moved for `quietMs` and `receipts()` caught up with it. */
export async function waitForSmscQuiet(
  accepted: () => number,
  receipts: () => number,
  opts: { quietMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  const quietMs = opts.quietMs ?? 1500;
  const end = Date.now() + (opts.timeoutMs ?? 60_000);
  let last = -1;
  let since = Date.now();
  for (;;) {
    const n = accepted();
    if (n !== last) {
      last = n;
      since = Date.now();
    }
    if (n > 0 && Date.now() - since > quietMs && receipts() >= n) return;
    if (Date.now() > end)
      throw new Error(`the SMSC did not go quiet (${n} accepted, ${receipts()} receipts)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
