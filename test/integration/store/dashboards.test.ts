import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { Store } from '../../../src/store/index.ts';
import { BASE_MS, buildDecision, HOUR_MS, makeDataDir, openStore } from './fixture.ts';

interface Target {
  rawSql: string;
  refId: string;
}
interface Panel {
  title: string;
  datasource: { type: string };
  targets: Target[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string }[] };
}

let data: Awaited<ReturnType<typeof makeDataDir>>;
let store: Store;
let dashboard: Dashboard;

/** Grafana's `${name}` variable syntax. */
const grafanaVar = (name: string) => `$${'{'}${name}}`;

/**
 * Expands the grafana-clickhouse-datasource macros and template variables the way the plugin does
 * before a query reaches ClickHouse, so each panel's SQL runs here against the real schema.
 */
function expand(
  sql: string,
  vars: { tenants: string[]; campaigns: string[]; fromMs: number; toMs: number },
): string {
  const list = (xs: string[]) => xs.map((x) => `'${x}'`).join(',');
  return sql
    .replace(
      /\$__timeFilter\((\w+)\)/g,
      (_m, c) =>
        `${c} >= toDateTime(${Math.floor(vars.fromMs / 1000)}) AND ${c} <= toDateTime(${Math.floor(vars.toMs / 1000)})`,
    )
    .replace(
      /\$__timeInterval\((\w+)\)/g,
      (_m, c) => `toStartOfInterval(toDateTime(${c}), INTERVAL 3600 second)`,
    )
    .replaceAll(grafanaVar('tenant:singlequote'), list(vars.tenants))
    .replaceAll(grafanaVar('campaign:singlequote'), list(vars.campaigns))
    .replaceAll(grafanaVar('database'), 'dash')
    .replaceAll(grafanaVar('k'), '10');
}

before(async () => {
  data = await makeDataDir();
  store = await openStore(data.dir, { database: 'dash' });
  dashboard = JSON.parse(
    await readFile(new URL('../../../dashboards/geotrigger.json', import.meta.url), 'utf8'),
  );
  const rows = [];
  // Campaign big reaches 40 subscribers, campaign small only 3.
  for (let i = 0; i < 40; i++) {
    rows.push(
      buildDecision({
        campaign_id: 'big',
        sid: `b${i}`,
        ts: BASE_MS + (i % 4) * HOUR_MS,
        outcome: i % 2 === 0 ? 'suppressed' : 'sent',
        reason: i % 2 === 0 ? 'cap_daily' : '',
      }),
    );
  }
  for (let i = 0; i < 9; i++)
    rows.push(buildDecision({ campaign_id: 'small', sid: `s${i % 3}`, ts: BASE_MS }));
  await store.insert('decisions', rows);
  await store.insert(
    'footfall_visits',
    rows.map((r) => ({ ts: r.ts, sid: r.sid, tenant: r.tenant, fence_id: r.fence_id, store_id: r.store_id })),
  );
});
after(async () => {
  await store?.close();
  await data.remove();
});

const window = { tenants: ['acme'], fromMs: BASE_MS - HOUR_MS, toMs: BASE_MS + 24 * HOUR_MS };

test('every panel of the Grafana dashboard uses the ClickHouse plugin and its SQL runs against the schema', async () => {
  assert.ok(dashboard.panels.length >= 6);
  const titles = dashboard.panels.map((p) => p.title);
  for (const want of [
    'Campaign funnel',
    'Sends per hour',
    'Delivery rate',
    'Opt-outs per hour',
    'Top stores',
  ]) {
    assert.ok(titles.includes(want), `missing panel ${want}`);
  }
  for (const p of dashboard.panels) {
    assert.equal(p.datasource.type, 'grafana-clickhouse-datasource', p.title);
    for (const t of p.targets) {
      assert.match(t.rawSql, /\$__timeFilter\(/, `${p.title} filters by the dashboard time range`);
      const rows = await store.query(expand(t.rawSql, { ...window, campaigns: ['big'] }));
      assert.ok(rows.length > 0, `${p.title} returns rows for a campaign of 40 subscribers`);
    }
  }
});

test('template variable queries run and list tenants and campaigns', async () => {
  const vars = dashboard.templating.list.filter((v) => v.type === 'query');
  const tenants = await store.query<{ tenant: string }>(
    expand(vars.find((v) => v.query.includes('tenant FROM'))!.query, { ...window, campaigns: [] }),
  );
  assert.deepEqual(
    tenants.map((r) => Object.values(r)[0]),
    ['acme'],
  );
  const campaigns = await store.query(
    expand(vars.find((v) => v.query.includes('campaign_id'))!.query, { ...window, campaigns: [] }),
  );
  assert.deepEqual(
    campaigns.map((r) => Object.values(r as object)[0]),
    ['big', 'small'],
  );
});

test('panels show nothing for a selection of fewer than k distinct subscribers', async () => {
  for (const p of dashboard.panels.filter((x) => !x.title.startsWith('Footfall'))) {
    for (const t of p.targets) {
      const rows = await store.query(expand(t.rawSql, { ...window, campaigns: ['small'] }));
      assert.deepEqual(rows, [], `${p.title} hides a 3-subscriber campaign`);
    }
  }
});
