import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type KafkaMock, startKafkaMock } from '../../helpers/kafka-mock/index.ts';
import { checkLogsPrivate, checkReport, checkWalkIn, type Walker } from './expectations.ts';
import { crowdPings, DLQ_TOPIC, kafkaSmppEnv, TOPIC, waitForSmscQuiet } from './scenario.ts';
import { baseEnv, type ServiceProcess, startServiceProcess, waitUntilReady } from './service-process.ts';
import { assemble, type NetSmppSmsc, startNetSmppSmsc } from './smsc-view.ts';
import { openServiceStore } from './store-view.ts';
import {
  campaignStores,
  demoSubscribers,
  farAway,
  producePings,
  TENANT,
  waitForGroupCaughtUp,
} from './world.ts';

// The same path with an SMSC no one here wrote: Perl's Net::SMPP (test/helpers/netsmpp-smsc.pl), which
// numbers its submits in decimal and quotes them in hex in its receipts.
const SUBSCRIBERS = 120;
const WALKERS = 90;
const GROUP = 'e2e-netsmpp';

let mock: KafkaMock;
let smsc: NetSmppSmsc;
let dataDir: string;
let svc: ServiceProcess | undefined;

before(async () => {
  mock = await startKafkaMock({ topics: [{ name: TOPIC, partitions: 2 }, { name: DLQ_TOPIC }] });
  smsc = await startNetSmppSmsc();
  dataDir = await mkdtemp(join(tmpdir(), 'geotrigger-e2e-'));
});
after(async () => {
  await svc?.kill();
  await smsc?.stop();
  await mock?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('walk-ins over Kafka reach the Net::SMPP SMSC as the campaign SMS, and its receipts mark them delivered', {
  timeout: 180_000,
}, async () => {
  const world = await demoSubscribers(SUBSCRIBERS);
  const stores = (await campaignStores()).slice(0, 3);
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
      smscPort: smsc.port,
    }),
  });
  await waitUntilReady(svc, { kafka: true });
  assert.deepEqual(
    smsc.lines.find((l) => l[0] === 'BOUND'),
    ['BOUND', 'bind_transceiver', 'geotrigger'],
  );

  const { first, rest } = crowdPings(walkers, bystanders, outside, Date.now() - 150_000);
  await producePings(mock.brokers, TOPIC, [...first, ...rest]);
  await waitForGroupCaughtUp(mock.brokers, TOPIC, GROUP);
  // Net::SMPP sends each receipt right after its submit_sm_resp.
  const submits = () => smsc.lines.filter((l) => l[0] === 'SUBMIT').length;
  const receiptsAnswered = () =>
    smsc.lines.filter((l) => l[0] === 'RESP' && l[1] === 'deliver_sm_resp' && l[3] === '0').length;
  await waitForSmscQuiet(submits, receiptsAnswered);
  assert.equal(await svc.stop(), 0, 'graceful stop exits 0');
  checkLogsPrivate(svc.output, world);

  const view = await openServiceStore(dataDir, TENANT);
  try {
    const outcome = checkWalkIn({ walkers, bystanders, smsc: assemble(smsc.parts()), view, receipts: true });
    await checkReport(view, outcome, walkers.length);
    console.log(
      `${walkers.length} walkers at ${stores.length} stores via Net::SMPP: ${outcome.sent} SMS (${outcome.parts} parts), ${outcome.holdout} holdout, ${outcome.suppressed} suppressed`,
    );
  } finally {
    await view.close();
  }
});
