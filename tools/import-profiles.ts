// Imports subscriber profiles (CSV or NDJSON), or generates a synthetic base.
//
//   npm run profiles:import -- profiles.ndjson                    upload to the running service (POST /v1/subscribers/import)
//   npm run profiles:import -- profiles.csv --url http://host:8080 --key $KEY
//   npm run profiles:import -- profiles.ndjson --direct           write straight into the store's subscribers table
//                                                                 (embedded ClickHouse: only while the service is stopped)
//   npm run profiles:import -- --generate 100000 --seed 7 --out base.ndjson   write a synthetic base to a file
//   npm run profiles:import -- --generate 100000 --seed 7         generate and upload
//
// The service URL defaults to http://127.0.0.1:$PORT and the key to $ADMIN_API_KEY; an analyst or ingest key works too.
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import {
  createProfileRepository,
  createProfileStore,
  generateSubscribers,
  type LoadResult,
} from '../src/segments/index.ts';
import { createStore } from '../src/store/index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    format: { type: 'string' },
    url: { type: 'string' },
    key: { type: 'string' },
    direct: { type: 'boolean', default: false },
    generate: { type: 'string' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

function usage(code: number): never {
  console.error(
    'usage: import-profiles <file|-> [--format ndjson|csv] [--url URL] [--key KEY] [--direct]\n' +
      '       import-profiles --generate N [--seed S] [--out file.ndjson | --url URL --key KEY | --direct]',
  );
  process.exit(code);
}

if (values.help) usage(0);
const source = positionals[0];
if (!source && !values.generate) usage(2);
const format = (values.format ?? (source?.endsWith('.csv') ? 'csv' : 'ndjson')) as 'csv' | 'ndjson';
if (format !== 'csv' && format !== 'ndjson') usage(2);

/** NDJSON of a synthetic base, produced lazily. */
function generated(count: number, seed: number): Readable {
  return Readable.from(
    (function* () {
      let batch: string[] = [];
      for (const p of generateSubscribers({ seed, count, nowMs: Date.now() })) {
        batch.push(JSON.stringify(p));
        if (batch.length === 1000) {
          yield `${batch.join('\n')}\n`;
          batch = [];
        }
      }
      if (batch.length > 0) yield `${batch.join('\n')}\n`;
    })(),
  );
}

function input(): Readable {
  if (values.generate) {
    const count = Number(values.generate);
    if (!Number.isInteger(count) || count < 1) usage(2);
    return generated(count, Number(values.seed));
  }
  return source === '-' ? process.stdin : createReadStream(source!);
}

function report(result: LoadResult, ms: number): void {
  console.log(`loaded ${result.loaded}, rejected ${result.rejected} in ${(ms / 1000).toFixed(1)} s`);
  for (const e of result.errors.slice(0, 20)) console.log(`  line ${e.line}: ${e.message}`);
  if (result.rejected > result.errors.length)
    console.log(`  … ${result.rejected - result.errors.length} more`);
}

const started = performance.now();
if (values.out) {
  await pipeline(input(), createWriteStream(values.out));
  console.log(`wrote ${values.generate} profiles to ${values.out}`);
} else if (values.direct) {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL });
  const store = await createStore({
    config: {
      url: config.CLICKHOUSE_URL,
      user: config.CLICKHOUSE_USER,
      password: config.CLICKHOUSE_PASSWORD,
      database: config.CLICKHOUSE_DATABASE,
      dataDir: config.DATA_DIR,
      ttlDays: config.PERSONAL_DATA_TTL_DAYS,
      minGroupSize: config.REPORT_MIN_GROUP_SIZE,
    },
    logger,
  });
  try {
    const repository = createProfileRepository({
      store,
      profiles: createProfileStore({ capacity: 1 << 16 }),
      logger,
    });
    report(await repository.import(input(), format), performance.now() - started);
  } finally {
    await store.close();
  }
} else {
  const url = values.url ?? `http://127.0.0.1:${process.env.PORT ?? 8080}`;
  const key = values.key ?? process.env.ADMIN_API_KEY;
  if (!key) {
    console.error('no API key: pass --key or set ADMIN_API_KEY');
    process.exit(2);
  }
  const res = await fetch(`${url}/v1/subscribers/import`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': format === 'csv' ? 'text/csv' : 'application/x-ndjson',
    },
    body: Readable.toWeb(input()) as unknown as NonNullable<RequestInit['body']>,
    duplex: 'half',
  } as RequestInit);
  const text = await res.text();
  if (!res.ok) {
    console.error(`HTTP ${res.status}: ${text}`);
    process.exit(1);
  }
  report(JSON.parse(text) as LoadResult, performance.now() - started);
}
