// The service wired from its stages: ingest → match → presence → decide → deliver, the store writer,
// the API and the timers that keep them current. main.ts gives it the configuration and a logger;
// end-to-end tests and the pipeline benchmark start it the same way.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Histogram } from 'prom-client';
import { createApiStage, createMetricsRegistry, type ReadinessCheck, type RouteDef } from './api/index.ts';
import { campaignRoutes } from './api/routes/campaigns.ts';
import { consentRoutes } from './api/routes/consent.ts';
import { conversionRoutes } from './api/routes/conversions.ts';
import { pingRoutes } from './api/routes/pings.ts';
import { policyRoutes } from './api/routes/policy.ts';
import { reportRoutes } from './api/routes/reports.ts';
import { segmentRoutes } from './api/routes/segments.ts';
import { subscriberRoutes } from './api/routes/subscribers.ts';
import {
  applyPolicy,
  type Campaign,
  type CampaignService,
  createAudience,
  createCampaignService,
  createConversions,
  createDecider,
  createDecisionEngine,
  createFollowUpScheduler,
  createPromoCodes,
  finishDueCampaigns,
  loadReplayFilter,
  type Policy,
  promoCodeFinder,
  replyAttribution,
  restoreDecideState,
  type SendOrder,
} from './campaigns/index.ts';
import type { Config } from './config.ts';
import { type ConsentEngine, createConsentEngine, restoreConsent } from './consent/index.ts';
import {
  createDirectory,
  createSmppSender,
  createSmscSimulator,
  type Directory,
  loadDirectoryFile,
  measureSms,
  openOutbox,
  parseSmppAccounts,
  type SendResult,
  type SmscSimulator,
  smppAccount,
  storeDeliverySink,
} from './deliver/index.ts';
import { DEMO_SEED, DEMO_TENANT, demoCampaign, demoMsisdn, demoOptedOut, demoSid } from './demo.ts';
import { AppError } from './errors.ts';
import { createMatcher, type FenceChange, type FenceLimits, loadCatalogue } from './geo/index.ts';
import {
  createFilePingSource,
  createHttpPingSource,
  createKafkaPingSource,
  createPingDecoder,
  createPingPipeline,
  createWorkerPipeline,
  type PingSource,
} from './ingest/index.ts';
import type { Logger } from './logger.ts';
import { type PresenceEvent, presenceOptionsFromConfig } from './presence/index.ts';
import {
  createProfileConsumer,
  createProfileRepository,
  createProfileStore,
  createSegmentService,
  DAY_MS,
  generateSubscribers,
  loadSegmentCatalogue,
  type ProfileRepository,
  type ProfileStore,
  type Segment,
} from './segments/index.ts';
import { createDefinitions, createReports, createStore, createWriter, type Writer } from './store/index.ts';

export interface Service {
  /** Port the API listens on. */
  readonly port: number;
  /** Port of the embedded SMSC simulator (undefined when SMPP_ACCOUNTS is set). */
  readonly simulatorPort: number | undefined;
  /** Stops in order: intake, in-flight decisions, SMPP responses, writer, offsets, binds, store. */
  stop(reason?: string): Promise<void>;
  /** Resolves when the service stopped (after `stop`). */
  readonly stopped: Promise<void>;
}

/** What a first-start seed may fill: the benchmark's national-scale world, tests' fixtures. */
export interface SeedContext {
  profiles: ProfileStore;
  repository: ProfileRepository;
  consent: ConsentEngine;
  campaigns: CampaignService;
  writer: Writer;
  /** The principal seeds act as (an admin named `system`). */
  principal: typeof SYSTEM;
}

/** Embedding options (benchmarks, tests); `npm start` uses none. */
export interface ServiceOptions {
  /** Fills first-start data instead of the demo; runs before intake starts, only when no profiles were loaded. */
  seed?: (ctx: SeedContext) => Promise<void>;
  /** Subscriber directory (sid → phone number) instead of DIRECTORY_FILE / the demo's. */
  directory?: Directory;
  /** Called when an SMS submit is answered (or failed: result undefined). */
  onSent?: (order: SendOrder, result: SendResult | undefined) => void;
}

const SYSTEM = { id: 'system', role: 'admin' as const };
const CHANGE_DEBOUNCE_MS = 200;
const HOUR_MS = 3_600_000;
/** Promo codes kept in memory (and loaded at start-up); older ones are looked up in the store. */
const PROMO_RETENTION_DAYS = 30;

/** Starts the whole service on `config`. Throws AppError('CONFIG_INVALID' | 'STARTUP_FAILED') with a clear message. */
export async function startService(
  config: Config,
  logger: Logger,
  options: ServiceOptions = {},
): Promise<Service> {
  const log = logger.child({ stage: 'main' });
  const closers: { name: string; close: () => Promise<void> | void }[] = [];
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, f: () => unknown, name: string) => {
    const t = setInterval(() => {
      try {
        const r = f();
        if (r instanceof Promise) r.catch((err) => log.error({ err, task: name }, 'periodic task failed'));
      } catch (err) {
        log.error({ err, task: name }, 'periodic task failed');
      }
    }, ms);
    t.unref();
    timers.push(t);
  };

  try {
    return await start();
  } catch (err) {
    for (const t of timers) clearInterval(t);
    for (const c of closers.reverse()) {
      try {
        await c.close();
      } catch (e) {
        log.warn({ err: e, component: c.name }, 'close after a failed start failed');
      }
    }
    throw err;
  }

  async function start(): Promise<Service> {
    const dataDir = config.DATA_DIR;
    await mkdir(dataDir, { recursive: true }).catch((err: unknown) => {
      throw new AppError('CONFIG_INVALID', `DATA_DIR ${dataDir} cannot be created: ${String(err)}`);
    });
    const accounts = config.SMPP_ACCOUNTS ? parseSmppAccounts(config.SMPP_ACCOUNTS) : undefined;
    const registry = createMetricsRegistry();

    // --- store -------------------------------------------------------------------------------------
    const store = await createStore({
      config: {
        url: config.CLICKHOUSE_URL,
        user: config.CLICKHOUSE_USER,
        password: config.CLICKHOUSE_PASSWORD,
        database: config.CLICKHOUSE_DATABASE,
        dataDir,
        ttlDays: config.PERSONAL_DATA_TTL_DAYS,
        minGroupSize: config.REPORT_MIN_GROUP_SIZE,
      },
      logger,
    });
    closers.push({ name: 'store', close: () => store.close() });
    log.info(
      {
        mode: store.mode,
        database: store.database,
        dataDir: store.mode === 'embedded' ? dataDir : undefined,
      },
      store.mode === 'embedded' ? 'store: embedded ClickHouse (chDB)' : 'store: ClickHouse server',
    );
    const writer = createWriter({ store, logger, spillDir: join(dataDir, 'spill') });
    closers.push({ name: 'writer', close: () => writer.close() });

    // --- geofences -----------------------------------------------------------------------------------
    const limits: FenceLimits = {
      maxVertices: config.GEOFENCE_MAX_VERTICES,
      maxAreaKm2: config.GEOFENCE_MAX_AREA_KM2,
      defaultMaxAccuracyM: config.GEOFENCE_DEFAULT_MAX_ACCURACY_M,
    };
    const catalogue = await loadCatalogue(config.GEOFENCES_DIR, limits).catch((err: unknown) => {
      throw new AppError('CONFIG_INVALID', `GEOFENCES_DIR ${config.GEOFENCES_DIR}: ${String(err)}`);
    });
    for (const e of catalogue.errors) log.warn({ error: e }, 'catalogue geofence rejected');
    // With the ingest worker, every fence change is forwarded to the worker's own matcher, in order;
    // this thread then only keeps the fence registry (the API, campaigns) and builds no index.
    let forwardFences: ((c: FenceChange) => void) | undefined;
    const matcher = createMatcher({ onChange: (c) => forwardFences?.(c), lazyIndex: config.INGEST_WORKER });

    // --- segments and profiles ---------------------------------------------------------------------
    const profiles = createProfileStore({ capacity: Math.max(config.PROFILES_CAPACITY, 16) });
    const repository = createProfileRepository({ store, profiles, logger });
    const loaded = await repository.reload();
    const segments = createSegmentService({
      definitions: createDefinitions<Segment>({ store, table: 'segments' }),
      profiles,
      logger,
    });
    await segments.seed(await loadSegmentCatalogue(config.SEGMENTS_DIR));
    await segments.refresh();
    const audience = createAudience({ profiles, segments: segments.compiledMap() });
    segments.onChange((m) => audience.setSegments(m));
    const stopSegmentRefresh = segments.refreshEvery(30_000);
    closers.push({ name: 'segments', close: stopSegmentRefresh });

    // --- consent, decide ----------------------------------------------------------------------------
    let attribution: ReturnType<typeof replyAttribution> = () => undefined;
    const consent = createConsentEngine({
      logger,
      sink: writer,
      attribution: (sid) => attribution(sid),
      profiles,
    });
    const promoCodes = createPromoCodes();
    const engine = createDecisionEngine({
      inSegment: audience.inSegment,
      consent,
      measure: measureSms,
      languageOf: audience.languageOf,
      promoCodes,
    });
    attribution = replyAttribution(engine);
    const followUps = createFollowUpScheduler({ engine, sink: writer });
    consent.onOptOut((sid, tenant, nowMs) => {
      followUps.cancel(tenant ? { sid, tenant } : { sid }, tenant ? 'brand_declined' : 'opted_out', nowMs);
    });
    const fenceInfos = () => matcher.snapshot().fences.map((f) => f.props);
    const campaigns = createCampaignService({
      campaigns: createDefinitions<Campaign>({ store, table: 'campaigns' }),
      policy: createDefinitions<Policy>({ store, table: 'policy' }),
      fences: { get: (id) => matcher.get(id)?.props, all: fenceInfos },
      segments: { get: (id) => segments.get(id)?.segment },
      measure: measureSms,
      promoCodeLength: promoCodes.length,
      onChange: (what) => changed(what),
    });
    const conversions = createConversions({
      promoCodes,
      followUps,
      sink: writer,
      tenantOf: (id) => engine.campaign(id)?.tenant,
      findCode: promoCodeFinder(store),
      clock: Date.now,
    });
    let campaignCount = 0;
    let fenceVersion = -1;
    let reloading = Promise.resolve();
    // Campaign/fence reloads are coalesced: changes arriving while one waits share it (a burst of
    // campaign edits, a catalogue import) instead of each recompiling every campaign.
    let queuedReload: Promise<void> | undefined;
    let lastReloadMs = 0;
    const recompiles = new Histogram({
      name: 'geotrigger_campaign_recompile_seconds',
      help: 'Campaign recompiles (a definition or the fences changed) and how long each held the thread',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    // What the engine was last compiled from: campaign definitions (as JSON) and the fence snapshot.
    let appliedCampaigns = '';
    let appliedFences = -1;
    const reload = (what: 'campaigns' | 'policy' | 'fences'): Promise<void> => {
      if (what !== 'policy' && queuedReload) return queuedReload;
      reloading = reloading.then(async () => {
        if (what === 'policy') {
          applyPolicy(await campaigns.getPolicy(), { engine, consent });
          return;
        }
        queuedReload = undefined;
        const fences = matcher.snapshot().version;
        fenceVersion = fences;
        const t0 = performance.now();
        const all = await campaigns.all();
        // The periodic poll (edits made on other instances) recompiles only when a definition or the
        // fences changed: a recompile of 500 campaigns over 100k fences holds the thread for ~1 s,
        // which every 30 s was the whole p99 of ping → SMS latency.
        const signature = JSON.stringify(all);
        if (signature === appliedCampaigns && fences === appliedFences) return;
        engine.setCampaigns(all, fenceInfos());
        engine.warmMeasures();
        appliedCampaigns = signature;
        appliedFences = fences;
        lastReloadMs = performance.now() - t0;
        recompiles.observe(lastReloadMs / 1000);
        campaignCount = all.filter((c) => c.status === 'active').length;
      });
      const done = reloading.catch((err) => log.error({ err, what }, 'reloading campaigns failed'));
      if (what !== 'policy') queuedReload = done;
      return done;
    };

    // Edits come in bursts (a retailer's campaign list, approvals): policy applies at once, campaign
    // edits within CHANGE_DEBOUNCE_MS, one recompile for the whole burst.
    let changeTimer: NodeJS.Timeout | undefined;
    const changed = (what: 'campaigns' | 'policy') => {
      if (what === 'policy') return void reload('policy');
      // At least twice the last recompile apart, so a long burst cannot keep the thread recompiling.
      changeTimer ??= setTimeout(
        () => {
          changeTimer = undefined;
          void reload('campaigns');
        },
        Math.max(CHANGE_DEBOUNCE_MS, 2 * lastReloadMs),
      );
    };
    closers.push({ name: 'campaign-changes', close: () => clearTimeout(changeTimer) });

    // --- deliver -------------------------------------------------------------------------------------
    let simulator: SmscSimulator | undefined;
    if (!accounts) {
      simulator = await createSmscSimulator({
        port: config.SMSC_SIM_PORT,
        host: '127.0.0.1',
        tps: config.SMSC_SIM_TPS,
        latencyMs: 5,
        receiptDelayMs: 500,
      }).catch((err: unknown) => {
        throw new AppError(
          'CONFIG_INVALID',
          `the local SMSC simulator cannot listen on 127.0.0.1:${config.SMSC_SIM_PORT} (${String(err)}); set SMSC_SIM_PORT to a free port or SMPP_ACCOUNTS to a real SMSC`,
        );
      });
      const sim = simulator;
      closers.push({ name: 'smsc-simulator', close: () => sim.stop() });
    }
    const smppAccounts = accounts ?? [
      smppAccount({
        name: 'simulator',
        systemId: 'geotrigger',
        password: 'sim',
        host: '127.0.0.1',
        port: simulator!.port,
        tps: config.SMSC_SIM_TPS || 1000,
      }),
    ];
    const directory: Directory = options.directory
      ? options.directory
      : config.DIRECTORY_FILE
        ? await loadDirectoryFile(config.DIRECTORY_FILE).catch((err: unknown) => {
            throw new AppError('CONFIG_INVALID', `DIRECTORY_FILE ${config.DIRECTORY_FILE}: ${String(err)}`);
          })
        : config.DEMO
          ? createDirectory(demoDirectory(config.DEMO_SUBSCRIBERS))
          : createDirectory([]);
    if (!options.directory && !config.DIRECTORY_FILE && !config.DEMO) {
      log.warn('no DIRECTORY_FILE and DEMO is off: no subscriber has a phone number, nothing will be sent');
    }
    const outbox = await openOutbox({
      dir: join(dataDir, 'deliver'),
      logger,
      retentionDays: config.DELIVERY_OUTBOX_RETENTION_DAYS,
    });
    const sender = createSmppSender({
      accounts: smppAccounts,
      logger,
      directory,
      outbox,
      sink: storeDeliverySink(store, writer),
      consentCheck: (sid, tenant) => consent.canSend(sid, tenant, Date.now()),
      // STOP words, brand declines and their one confirmation reply: the consent engine decides.
      mo: { handle: (mo) => consent.handleMo(mo.sid, mo.text, mo.tsMs) },
      metrics: registry,
    });
    closers.push({ name: 'smpp', close: () => sender.close() });
    log.info(
      simulator
        ? { smsc: `127.0.0.1:${simulator.port}`, tps: config.SMSC_SIM_TPS }
        : { accounts: smppAccounts.map((a) => `${a.name}@${a.host}:${a.port}`) },
      simulator
        ? 'SMS go to the local SMSC simulator (no real phone receives them); set SMPP_ACCOUNTS for a real SMSC'
        : 'SMS go to the configured SMSCs',
    );

    const inFlight = new Set<Promise<SendResult | undefined>>();
    const send = (o: SendOrder) => {
      const p = sender
        .send({
          idempotencyKey: o.idempotencyKey,
          messageId: o.messageId,
          sid: o.sid,
          campaignId: o.campaignId,
          fenceId: o.fenceId,
          storeId: o.storeId,
          tenant: o.tenant,
          senderId: o.senderId,
          text: o.text,
          validityMinutes: o.validityMinutes,
        })
        .catch((err: unknown) => {
          log.error({ err, campaignId: o.campaignId }, 'send failed');
          return undefined;
        });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (options.onSent) {
        const onSent = options.onSent;
        void p.then((r) => onSent(o, r));
      }
    };
    const decider = createDecider({
      engine,
      followUps,
      sink: writer,
      send,
      clock: Date.now,
      logger,
      registry,
    });

    // --- restore state, demo data ------------------------------------------------------------------
    const nowMs = Date.now();
    const restoredConsent = await restoreConsent({ store, consent, nowMs });
    // --- ingest -------------------------------------------------------------------------------------
    const pending = new Set<Promise<void>>();
    const decide = {
      onEvent(e: PresenceEvent) {
        const p = decider.onEvent(e);
        if (p) {
          pending.add(p);
          void p.finally(() => pending.delete(p));
        }
      },
      async drain() {
        if (pending.size > 0) await Promise.all(pending);
        // Offsets are committed after this: the batch's SMS orders must be journaled (not sent) by then.
        await sender.journaled();
        // Decisions and footfall reach ClickHouse with the writer's next timed flush (≤ 1 s), not one
        // insert per Kafka batch; offsets wait for it off the fetch path.
        await writer.durable();
      },
    };
    const decoderOptions = {
      maxFutureMs: config.PING_MAX_FUTURE_SEC * 1000,
      maxPastMs: config.PING_MAX_AGE_HOURS * 3_600_000,
    };
    const ingestWorker = config.INGEST_WORKER
      ? createWorkerPipeline({
          sink: decide,
          presence: presenceOptionsFromConfig(config),
          decoder: decoderOptions,
          writer,
          registry,
          logger,
        })
      : undefined;
    if (ingestWorker) {
      const w = ingestWorker;
      closers.push({ name: 'ingest-worker', close: () => w.close() });
      if (matcher.size > 0) w.fences({ op: 'replace', fences: matcher.snapshot().fences });
      forwardFences = (c) => w.fences(c);
      await w.ready.catch((err: unknown) => {
        throw new AppError('INTERNAL', 'the ingest worker did not start', { cause: err });
      });
      log.info('ingest: decode, match and presence run in a worker thread');
    }
    const pipeline =
      ingestWorker ??
      createPingPipeline({
        matcher,
        sink: decide,
        presence: presenceOptionsFromConfig(config),
        writer,
        registry,
        logger,
      });
    const decoder = createPingDecoder(decoderOptions);
    const sources: PingSource[] = [];
    const http = createHttpPingSource({ decoder, metrics: pipeline.metrics });
    await http.start(pipeline);
    sources.push(http);
    // --- API (routes of every stage), restored state, demo data ---------------------------------
    const routes: RouteDef[] = [
      ...pingRoutes({ source: http, bodyLimit: config.API_BODY_LIMIT }),
      ...campaignRoutes({ campaigns }),
      ...policyRoutes({ campaigns }),
      ...consentRoutes({ consent, clock: Date.now }),
      ...conversionRoutes({ conversions }),
      ...segmentRoutes({ segments, profiles }),
      ...subscriberRoutes({ profiles, repository, importLimit: config.PROFILES_IMPORT_LIMIT }),
      ...reportRoutes({
        reports: createReports({ store, minGroupSize: config.REPORT_MIN_GROUP_SIZE }),
        campaigns,
        fences: matcher,
      }),
    ];
    const api = await createApiStage({
      logger,
      store,
      matcher,
      metricsRegistry: registry,
      limits,
      adminKey: config.ADMIN_API_KEY,
      dataDir,
      catalogue: catalogue.fences,
      routes,
      readiness: readiness(),
      bodyLimit: config.API_BODY_LIMIT,
      rateLimitPerMin: config.API_RATE_LIMIT_PER_MIN,
    });
    closers.push({ name: 'api', close: () => api.close() });
    applyPolicy(await campaigns.getPolicy(), { engine, consent });
    if (loaded.loaded === 0 && profiles.size === 0) {
      if (options.seed) {
        await options.seed({ profiles, repository, consent, campaigns, writer, principal: SYSTEM });
        await writer.flush();
      } else if (config.DEMO) await loadDemo();
    }
    await reload('campaigns');
    const restored = await restoreDecideState({
      store,
      engine,
      promoCodes,
      followUps,
      nowMs,
      promoDays: PROMO_RETENTION_DAYS,
    });
    const replays = await loadReplayFilter({
      store,
      nowMs,
      windowMs: config.DECIDE_REPLAY_WINDOW_MINUTES * 60_000,
    });
    decider.setReplayFilter(replays);
    log.info(
      {
        fences: matcher.size,
        subscribers: profiles.size,
        segments: segments.list().length,
        activeCampaigns: campaignCount,
        consent: restoredConsent,
        restored,
        replayKeys: replays.size,
      },
      'state loaded',
    );
    // Orders the last run left queued (crash or shutdown) go first, consent re-checked as restored.
    const recovering = sender.recover().then(
      () => undefined,
      (err: unknown) => {
        log.error({ err }, 'sending orders queued by the previous run failed');
        return undefined;
      },
    );
    inFlight.add(recovering);
    void recovering.finally(() => inFlight.delete(recovering));

    let kafka: Kafka | undefined;
    let kafkaSource: ReturnType<typeof createKafkaPingSource> | undefined;
    if (config.KAFKA_BROKERS) {
      kafka = new Kafka({
        clientId: config.KAFKA_CLIENT_ID,
        brokers: config.KAFKA_BROKERS.split(',').map((b) => b.trim()),
        logLevel: logLevel.ERROR,
      });
      kafkaSource = createKafkaPingSource({
        kafka,
        topic: config.PINGS_TOPIC,
        dlqTopic: config.DLQ_TOPIC,
        groupId: config.KAFKA_GROUP_ID,
        decoder,
        metrics: pipeline.metrics,
        logger,
        fromBeginning: config.KAFKA_FROM_BEGINNING,
        warmupMessages: config.KAFKA_WARMUP_MESSAGES,
        consumer: { maxWaitTimeInMs: config.KAFKA_FETCH_MAX_WAIT_MS },
      });
      await kafkaSource.start(pipeline);
      sources.push(kafkaSource);
      log.info({ brokers: config.KAFKA_BROKERS, topic: config.PINGS_TOPIC }, 'consuming pings from Kafka');
      if (config.PROFILES_TOPIC) {
        const consumer = createProfileConsumer({
          kafka,
          topic: config.PROFILES_TOPIC,
          groupId: `${config.KAFKA_GROUP_ID}-profiles`,
          profiles,
          repository,
          logger,
        });
        await consumer.start();
        closers.push({ name: 'profile-consumer', close: () => consumer.stop() });
      }
    }
    if (config.PINGS_REPLAY_FILE) {
      const file = createFilePingSource({
        path: config.PINGS_REPLAY_FILE,
        speed: config.PINGS_REPLAY_SPEED,
        decoder,
        metrics: pipeline.metrics,
        logger,
      });
      await file.start(pipeline);
      sources.push(file);
    }

    // --- timers, listen ---
    const port = await api.listen(config.PORT, config.HOST).catch((err: unknown) => {
      throw new AppError(
        'CONFIG_INVALID',
        `the API cannot listen on ${config.HOST}:${config.PORT} (${String(err)}); set PORT/HOST to a free address`,
      );
    });
    log.info({ port, host: config.HOST }, `API listening on http://${config.HOST}:${port}`);

    every(10_000, () => pipeline.sweep(), 'presence-sweep');
    every(2_000, () => decider.tick(), 'follow-ups');
    every(
      1_000,
      () => (matcher.snapshot().version !== fenceVersion ? reload('fences') : undefined),
      'fences',
    );
    every(30_000, () => reload('campaigns'), 'campaigns');
    every(60_000, () => finishDueCampaigns({ engine, campaigns, followUps, nowMs: Date.now() }), 'finish');
    // Send histories past the longest cap window and promo codes older than the start-up restore loads
    // (the store keeps both; conversions look a code up there when memory no longer has it). Without
    // this both only grow. Hourly: a prune walks every history head (tens of ms at 24 M subscribers).
    every(
      HOUR_MS,
      () => {
        const now = Date.now();
        const histories = engine.counters.prune(now);
        const codes = promoCodes.prune(now - PROMO_RETENTION_DAYS * DAY_MS);
        log.debug({ histories, codes }, 'pruned send histories and promo codes');
      },
      'prune',
    );

    // --- shutdown -----------------------------------------------------------------------------------
    let stopping: Promise<void> | undefined;
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => {
      resolveStopped = r;
    });
    const stop = (reason = 'stop') => {
      stopping ??= (async () => {
        log.info({ reason }, 'shutting down: stopping intake');
        for (const t of timers) clearInterval(t);
        // 1. intake (Kafka commits the offsets of what it handed over as its last batch finishes)
        await api.close().catch((err) => log.warn({ err }, 'closing the API failed'));
        for (const s of sources)
          await s.stop().catch((err) => log.warn({ err, source: s.kind }, 'stop failed'));
        // 2. in-flight decisions
        await pipeline.flush().catch((err) => log.warn({ err }, 'flushing the pipeline failed'));
        // 3. SMPP responses still outstanding, up to the timeout (orders still queued then stay
        // journaled and the next start sends them)
        const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_MS;
        while (Date.now() < deadline && (inFlight.size > 0 || busy(sender.status()))) {
          await new Promise((r) => setTimeout(r, 50));
        }
        if (inFlight.size > 0)
          log.warn({ inFlight: inFlight.size }, 'SMS still in flight at the shutdown timeout');
        // 4. writer, 5. binds, 6. store (closers run in reverse order of creation)
        await writer.flush().catch((err) => log.warn({ err }, 'flushing the writer failed'));
        for (const c of closers.reverse()) {
          if (c.name === 'api') continue;
          try {
            await c.close();
          } catch (err) {
            log.warn({ err, component: c.name }, 'close failed');
          }
        }
        log.info('stopped');
        resolveStopped();
      })();
      return stopping;
    };

    return { port, simulatorPort: simulator?.port, stop, stopped };

    function readiness(): Record<string, ReadinessCheck> {
      const checks: Record<string, ReadinessCheck> = {
        smpp: () => sender.status().accounts.some((a) => a.bound > 0),
      };
      if (config.KAFKA_BROKERS) checks.kafka = () => (kafkaSource?.assigned.length ?? 0) > 0;
      if (ingestWorker) checks.ingest = () => ingestWorker.failure === undefined;
      return checks;
    }

    async function loadDemo() {
      const n = config.DEMO_SUBSCRIBERS;
      const t0 = Date.now();
      const sids: string[] = [];
      for (const p of generateSubscribers({ seed: DEMO_SEED, count: n, nowMs: t0 })) {
        profiles.upsert(p.sid, p);
        sids.push(p.sid);
      }
      await repository.persist(sids);
      for (let i = 0; i < n; i++) {
        const sid = demoSid(i);
        const record = { source: 'demo', evidence: 'generated demo subscriber' };
        if (demoOptedOut(i)) consent.optOut(sid, record, t0);
        else consent.optIn(sid, record, t0);
      }
      const policy = await campaigns.getPolicy();
      const { version, ...body } = policy;
      await campaigns.putPolicy({ ...body, quietHours: null, minIntervalMinutes: 0 }, version, SYSTEM);
      applyPolicy(await campaigns.getPolicy(), { engine, consent });
      const c = await campaigns.create(DEMO_TENANT, demoCampaign(t0), SYSTEM);
      for (const action of ['submit', 'approve', 'activate'] as const) {
        await campaigns.transition(c.id, action, SYSTEM);
      }
      await writer.flush();
      log.info(
        { subscribers: n, campaign: c.id, ms: Date.now() - t0 },
        'demo loaded: generated subscribers with consents, an active Silpo campaign, a policy without quiet hours',
      );
    }
  }
}

function* demoDirectory(n: number): Generator<readonly [string, string]> {
  for (let i = 0; i < n; i++) yield [demoSid(i), demoMsisdn(i)];
}

function busy(s: { accounts: { queued: number; inFlight: number }[] }): boolean {
  return s.accounts.some((a) => a.queued > 0 || a.inFlight > 0);
}
