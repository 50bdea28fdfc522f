import { Counter, Gauge, type Registry } from 'prom-client';
import type { BindCounters } from './bind.ts';

export interface DeliverGauges {
  counters: BindCounters;
  bound: () => number;
  queued: () => number;
  tracked: () => number;
}

/** Registers the deliver stage's metrics; values are read from the sender's counters at scrape time. */
export function registerDeliverMetrics(registry: Registry, g: DeliverGauges): void {
  const parts = new Counter({
    name: 'geotrigger_sms_parts_total',
    help: 'SMS parts by submit outcome (submitted, throttled, failed, unknown).',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'submitted' }, g.counters.submitted);
      this.inc({ outcome: 'throttled' }, g.counters.throttled);
      this.inc({ outcome: 'failed' }, g.counters.failed);
      this.inc({ outcome: 'unknown' }, g.counters.unknown);
    },
  });
  void parts;
  new Counter({
    name: 'geotrigger_smpp_reconnects_total',
    help: 'Reconnect attempts of SMPP binds (bind refusals included).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(g.counters.reconnects);
    },
  });
  new Gauge({
    name: 'geotrigger_smpp_binds_bound',
    help: 'SMPP binds currently bound.',
    registers: [registry],
    collect() {
      this.set(g.bound());
    },
  });
  new Gauge({
    name: 'geotrigger_sms_parts_queued',
    help: 'SMS parts waiting for a bind (rate limit, window or no bind up).',
    registers: [registry],
    collect() {
      this.set(g.queued());
    },
  });
  new Gauge({
    name: 'geotrigger_sms_awaiting_receipt',
    help: 'Submitted parts whose delivery receipt is still awaited.',
    registers: [registry],
    collect() {
      this.set(g.tracked());
    },
  });
}
