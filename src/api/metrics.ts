import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * A Prometheus registry with the default process metrics (CPU, memory, event-loop lag, GC).
 * main.ts creates one and hands it to every stage, which registers its own metrics on it
 * (`new Counter({ name, help, registers: [registry] })`); the API serves it at /metrics.
 */
export function createMetricsRegistry(opts: { prefix?: string; defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: opts.prefix ?? '' });
  return registry;
}

export interface HttpMetrics {
  observe(method: string, route: string, status: number, seconds: number): void;
}

/** Request count and latency by method, route template (never the raw URL) and status. */
export function createHttpMetrics(registry: Registry): HttpMetrics {
  const existing = registry.getSingleMetric('http_requests_total');
  const requests =
    (existing as Counter<'method' | 'route' | 'status'> | undefined) ??
    new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric('http_request_duration_seconds') as
      | Histogram<'method' | 'route' | 'status'>
      | undefined) ??
    new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency, by method, route template and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  return {
    observe(method, route, status, seconds) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
  };
}
