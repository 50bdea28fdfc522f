import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createSmscSimulator, type SmscSimulator } from '../../../src/deliver/index.ts';
import { type KafkaMock, startKafkaMock } from '../../helpers/kafka-mock/index.ts';
import { checkLogsPrivate, checkReport, checkWalkIn, type Walker } from './expectations.ts';
import { crowdPings, DLQ_TOPIC, kafkaSmppEnv, TOPIC, waitForSmscQuiet } from './scenario.ts';
import { baseEnv, type ServiceProcess, startServiceProcess, waitUntilReady } from './service-process.ts';
import { assemble, simulatorParts } from './smsc-view.ts';
import { openServiceStore } from './store-view.ts';
import {
  campaignStores,
  demoSubscribers,
  farAway,
  producePings,
  TENANT,
  waitForGroupCaughtUp,
} from './world.ts';

// The whole service as a child process on real components: pings from a Kafka-protocol broker, SMS to
// the repo's SMSC simulator over SMPP, everything recorded in the embedded ClickHouse under DATA_DIR.
const SUBSCRIBERS = 300;
const WALKERS = 240;
const GROUP = 'e2e-walk-in';
const SHORT_CODE = '7575';

let mock: KafkaMock;
let sim: SmscSimulator;
let dataDir: string;
let svc: ServiceProcess | undefined;

before(async () => {
  mock = await startKafkaMock({ topics: [{ name: TOPIC, partitions: 2 }, { name: DLQ_TOPIC }] });
  sim = await createSmscSimulator({ recordSubmits: true, latencyMs: 2, receiptDelayMs: 100 });
  dataDir = await mkdtemp(join(tmpdir(), 'geotrigger-e2e-'));
});
after(async () => {
  await svc?.kill();
  await sim?.stop();
  await mock?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('subscribers walking into Silpo stores over Kafka get exactly the campaign SMS; opted-out and out-of-segment ones get none and their decisions say why', {
  timeout: 180_000,
}, async () => {
  const world = await demoSubscribers(SUBSCRIBERS);
  const stores = (await campaignStores()).slice(0, 4);
  const outside = await farAway(stores[0]);
  const walkers: Walker[] = world
    .slice(0, WALKERS)
    .map((sub, k) => ({ sub, store: stores[k % stores.length] }));
  const bystanders = world.slice(WALKERS);

  svc = startServiceProcess({
    ...baseEnv(dataDir),
    ...kafkaSmppEnv({
      bootstrap: mock.bootstrap,
      groupId: GROUP,
      subscribers: SUBSCRIBERS,
      smscPort: sim.port,
    }),
  });
  await waitUntilReady(svc, { kafka: true });

  // Produced while the service runs: the far-away pings first, then the walks into the stores.
  const { first, rest } = crowdPings(walkers, bystanders, outside, Date.now() - 150_000);
  await producePings(mock.brokers, TOPIC, first);
  await producePings(mock.brokers, TOPIC, rest, 50);
  await waitForGroupCaughtUp(mock.brokers, TOPIC, GROUP);
  // Decisions are committed; the SMS and their receipts follow.
  await waitForSmscQuiet(
    () => sim.stats.accepted,
    () => sim.stats.receiptsSent,
  );
  // The campaign SMS as they went out; then one recipient replies STOP from their phone.
  const campaignParts = simulatorParts(sim);
  const stopper = walkers.find((w) => campaignParts.some((p) => p.destination === w.sub.msisdn));
  assert.ok(stopper, 'some walker got an SMS');
  await sim.injectMo({ from: stopper.sub.msisdn, to: SHORT_CODE, text: 'СТОП' });
  // Answered means durable: the opt-out is recorded; its one confirmation goes out from the short code.
  const confirmations = () =>
    simulatorParts(sim).filter((p) => p.destination === stopper.sub.msisdn && p.source === SHORT_CODE);
  const until = Date.now() + 10_000;
  while (confirmations().length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.equal(confirmations().length, 1, 'one opt-out confirmation');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await svc.stop(), 0, 'graceful stop exits 0');
  checkLogsPrivate(svc.output, world);

  const view = await openServiceStore(dataDir, TENANT);
  try {
    const outcome = checkWalkIn({
      walkers,
      bystanders,
      smsc: assemble(campaignParts),
      view,
      receipts: true,
    });
    await checkReport(view, outcome, walkers.length);
    // The STOP: an opt-out from SMS, attributed to the campaign that reached the subscriber, counted in
    // its report; the confirmation is a message of no campaign and no tenant.
    assert.deepEqual(view.optOuts, [{ sid: stopper.sub.sid, source: 'sms_keyword' }]);
    assert.deepEqual(
      view.moMessages.map((m) => [m.sid, m.keyword, m.action, m.campaign_id, m.tenant]),
      [[stopper.sub.sid, 'СТОП', 'opt_out', outcome.campaignId, TENANT]],
    );
    assert.equal((await view.funnel(outcome.campaignId)).optOuts, 1, 'opt-outs in the campaign report');
    assert.deepEqual(
      view.serviceMessages.map((m) => [
        m.sid,
        m.sender,
        m.status === 'submitted' || m.status === 'delivered',
      ]),
      [[stopper.sub.sid, SHORT_CODE, true]],
    );
    console.log(
      `${walkers.length} walkers at ${stores.length} stores: ${outcome.sent} SMS (${outcome.parts} parts), ${outcome.holdout} holdout, ${outcome.suppressed} suppressed`,
    );
  } finally {
    await view.close();
  }
});
