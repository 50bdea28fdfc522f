import { Counter, Gauge, type Registry } from 'prom-client';
import { PRESENCE_KINDS, type PresenceKind } from '../presence/index.ts';
import { INVALID_PING_REASONS, type InvalidPingReason } from './types.ts';

/** The ingest stage's metrics; counted in-process, exported at scrape time. */
export interface IngestMetrics {
  pings(source: string, n: number): void;
  invalid(reason: InvalidPingReason, n?: number): void;
  event(kind: PresenceKind): void;
  backpressure(): void;
  /** Per-reason invalid counts so far (tests, logs). */
  invalidCounts(): Record<InvalidPingReason, number>;
}

export interface IngestGauges {
  /** Subscribers with presence state, all partitions. */
  tracked(): number;
  /** Open visits, all partitions. */
  visits(): number;
}

/** Registers the ingest/presence metrics on `registry`. */
export function createIngestMetrics(registry: Registry, gauges?: IngestGauges): IngestMetrics {
  const invalidCounts = Object.fromEntries(INVALID_PING_REASONS.map((r) => [r, 0])) as Record<
    InvalidPingReason,
    number
  >;
  const bySource = new Map<string, number>();
  const byKind = Object.fromEntries(PRESENCE_KINDS.map((k) => [k, 0])) as Record<PresenceKind, number>;
  let backpressureWaits = 0;

  new Counter({
    name: 'geotrigger_pings_received_total',
    help: 'Valid pings received, by source (kafka, http, file).',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [source, n] of bySource) this.inc({ source }, n);
    },
  });
  new Counter({
    name: 'geotrigger_pings_invalid_total',
    help: 'Invalid pings (dead-lettered or rejected), by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of INVALID_PING_REASONS) this.inc({ reason: r }, invalidCounts[r]);
    },
  });
  new Counter({
    name: 'geotrigger_presence_events_total',
    help: 'Presence events handed to the decision stage, by kind.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const k of PRESENCE_KINDS) this.inc({ kind: k }, byKind[k]);
    },
  });
  new Counter({
    name: 'geotrigger_ingest_backpressure_waits_total',
    help: 'Times ingest paused because the store writer pushed back.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(backpressureWaits);
    },
  });
  if (gauges) {
    new Gauge({
      name: 'geotrigger_presence_tracked_subscribers',
      help: 'Subscribers with presence state (inside or near a fence, or recently so).',
      registers: [registry],
      collect() {
        this.set(gauges.tracked());
      },
    });
    new Gauge({
      name: 'geotrigger_presence_open_visits',
      help: 'Open (subscriber, fence) visits.',
      registers: [registry],
      collect() {
        this.set(gauges.visits());
      },
    });
  }

  return {
    pings(source, n) {
      bySource.set(source, (bySource.get(source) ?? 0) + n);
    },
    invalid(reason, n = 1) {
      invalidCounts[reason] += n;
    },
    event(kind) {
      byKind[kind]++;
    },
    backpressure() {
      backpressureWaits++;
    },
    invalidCounts: () => ({ ...invalidCounts }),
  };
}
