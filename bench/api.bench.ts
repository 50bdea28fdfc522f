// API overhead: requests/s and latency through the express app (request id, logging, metrics, key
// check, rate limit, role check, zod validation) against a bare node:http server in the same run.
// The servers run in a child process so the load generator does not share their event loop.
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { z } from 'zod';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const TOKEN = 'bench-analyst-token-0123456789';

async function serve(): Promise<void> {
  const { createServer } = await import('node:http');
  const { createApiServer, defineRoute } = await import('../src/api/index.ts');
  const { geofenceInputSchema } = await import('../src/api/routes/geofences.ts');
  const { DEFAULT_FENCE_LIMITS, validateFence } = await import('../src/geo/index.ts');
  const { createLogger } = await import('../src/logger.ts');

  const bare = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));

  const routes = [
    defineRoute({
      method: 'get',
      path: '/v1/bench/:id',
      summary: 'authenticated read with query validation',
      roles: ['analyst'],
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      handler: ({ params, query }) => ({ id: params.id, limit: query.limit }),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/bench/fences',
      summary: 'geofence validation without storage',
      roles: ['analyst'],
      body: geofenceInputSchema,
      handler: ({ body }) => {
        const fence = validateFence(
          { ...body, properties: { ...body.properties, tenant: 'acme' } },
          DEFAULT_FENCE_LIMITS,
        );
        return { id: fence.props.id, bbox: fence.bbox };
      },
    }),
  ];
  const api = createApiServer({
    logger: createLogger({ level: 'info' }, { write: () => {} }),
    auth: { authenticate: (t) => (t === TOKEN ? { keyId: 'bench', role: 'analyst' } : undefined) },
    routes,
    rateLimitPerMin: 100_000_000,
  });
  const apiPort = await api.listen(0, '127.0.0.1');
  // A clean exit on SIGINT lets --cpu-prof write its profile.
  process.on('SIGINT', () => process.exit(0));
  process.send?.({ bare: (bare.address() as { port: number }).port, api: apiPort });
}

function fencePolygon(vertices: number): string {
  const ring: number[][] = [];
  for (let i = 0; i < vertices; i++) {
    const a = (2 * Math.PI * i) / vertices;
    ring.push([30.5 + 0.002 * Math.cos(a), 50.45 + 0.002 * Math.sin(a)]);
  }
  ring.push(ring[0]);
  return JSON.stringify({
    type: 'Feature',
    geometry: { type: 'Polygon', coordinates: [ring] },
    properties: { id: 'bench', name: 'Bench', storeId: 's1', tags: ['t'] },
  });
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  statuses: number[];
}

async function load(port: number, method: string, path: string, body?: string, auth = true): Promise<Result> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const headers: Record<string, string> = {};
  if (auth) headers.authorization = `Bearer ${TOKEN}`;
  if (body) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const latencies: number[] = [];
  let errors = 0;
  const statuses = new Set<number>();
  const one = () =>
    new Promise<void>((resolve) => {
      const start = performance.now();
      const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) {
            errors++;
            statuses.add(res.statusCode ?? 0);
          }
          latencies.push(performance.now() - start);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  // Warm-up, then the measured window.
  const warmEnd = performance.now() + 500;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < warmEnd) await one();
    }),
  );
  latencies.length = 0;
  errors = 0;
  const t0 = performance.now();
  const end = t0 + DURATION_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  const elapsed = performance.now() - t0;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return {
    rps: (latencies.length / elapsed) * 1000,
    p50: q(0.5),
    p99: q(0.99),
    errors,
    statuses: [...statuses],
  };
}

async function main(): Promise<void> {
  const child = fork(new URL(import.meta.url).pathname, ['serve'], {
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []),
    ],
  });
  const ports = await new Promise<{ bare: number; api: number }>((resolve) =>
    child.once('message', resolve as never),
  );
  console.log(
    `api bench: node ${process.version} (GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? ''}), duration ${DURATION_MS} ms per case, concurrency ${CONCURRENCY}, keep-alive`,
  );
  const cases: [string, number, string, string, string | undefined, boolean][] = [
    ['baseline: bare node:http, fixed JSON', ports.bare, 'GET', '/', undefined, false],
    ['app: GET /livez (public)', ports.api, 'GET', '/livez', undefined, false],
    [
      'app: GET /v1/bench/:id?limit=10 (key, role, query)',
      ports.api,
      'GET',
      '/v1/bench/x?limit=10',
      undefined,
      true,
    ],
    [
      'app: POST 20-vertex fence (zod + validateFence)',
      ports.api,
      'POST',
      '/v1/bench/fences',
      fencePolygon(20),
      true,
    ],
    [
      'app: POST 1990-vertex fence (zod + validateFence)',
      ports.api,
      'POST',
      '/v1/bench/fences',
      fencePolygon(1990),
      true,
    ],
  ];
  for (const [name, port, method, path, body, auth] of cases) {
    const r = await load(port, method, path, body, auth);
    console.log(
      `${name.padEnd(52)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms${r.errors ? `  errors ${r.errors} (${r.statuses.join(',')})` : ''}`,
    );
  }
  child.kill('SIGINT');
}

if (process.argv[2] === 'serve') await serve();
else await main();
