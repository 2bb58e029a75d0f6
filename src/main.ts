/**
 * Composition root: configuration → store → services → the roles asked for. Only this file chooses
 * a store adapter.
 */
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { buildRegistry, type ActionServices } from './api/actions/index.js';
import { ApiEndpoint } from './api/endpoint.js';
import { createHttpServer, createOperationsServer, listen, stopServer, type Readiness } from './http/server.js';
import { AddressAllowList } from './lib/address-allow.js';
import { Metrics } from './lib/metrics.js';
import type { Config } from './config/schema.js';
import { createDnsClient, type DnsClient } from './net/dns.js';
import type { SecretBox } from './lib/secret-box.js';
import { DomainRecheck } from './scheduler/domain-recheck.js';
import { JobLease } from './scheduler/job-lease.js';
import type { JobName } from './domain/periodic-jobs.js';
import { JobLeases } from './store/job-leases.js';
import { RetentionJob } from './scheduler/retention.js';
import { AccountService, type NewCredentials } from './services/accounts.js';
import { BlocklistService } from './services/blocklists.js';
import { IdentityService } from './services/identities.js';
import { checkMasterKey, loadMasterKey } from './services/master-key.js';
import { SenderService } from './services/senders.js';
import { TemplateService } from './services/templates.js';
import { ReceiverService } from './services/receivers.js';
import { UnsubscribeSettingService } from './services/unsubscribe-settings.js';
import { AccountStore } from './store/accounts.js';
import { BlocklistStore } from './store/blocklists.js';
import type { Db } from './store/db.js';
import { DomainStore } from './store/domains.js';
import { MIGRATIONS, migrate, schemaVersion } from './store/migrations.js';
import { openPostgres } from './store/postgres.js';
import { openSqlite } from './store/sqlite.js';
import { TemplateStore } from './store/templates.js';
import { ReceiverStore } from './store/receivers.js';
import { TaskStore } from './store/tasks.js';
import { TaskService } from './services/tasks.js';
import { TaskRuns } from './services/task-runs.js';
import { SendingRules } from './services/sending-rules.js';
import { AcceptanceStore } from './store/acceptance.js';
import { DeliveryQueue } from './store/queue.js';
import { SendCounts } from './store/send-counts.js';
import { StatusStore } from './store/statuses.js';
import { DeliveryHistoryStore } from './store/delivery-history.js';
import { UnsubscriptionStore } from './store/unsubscriptions.js';
import { TaskRunner } from './scheduler/task-runner.js';
import { UnsubscribeSettingStore } from './store/unsubscribe-settings.js';
import { MailService } from './services/mail.js';
import { RetentionService } from './services/retention.js';
import { RetentionStore } from './store/retention.js';
import { StatusService } from './services/statuses.js';
import { DeliveryHistoryService } from './services/delivery-history.js';
import { StatisticsService } from './services/statistics.js';
import { StatisticsStore } from './store/statistics.js';
import { ReputationService } from './services/reputation.js';
import { ReputationStore } from './store/reputation.js';
import { ReputationJob } from './scheduler/reputation.js';
import { CallbackService } from './services/callbacks.js';
import { CallbackStore } from './store/callbacks.js';
import { CapturedMailService } from './services/captured-mail.js';
import { CapturedMailStore } from './store/captured-mail.js';
import { WebhookOutbox } from './store/outbox.js';
import { ConsoleApi } from './api/console-api.js';
import { ConsoleSessions } from './services/console-sessions.js';
import { ConsoleSessionStore } from './store/console-sessions.js';
import { AuthThrottle } from './lib/auth-throttle.js';
import { DISPATCH_DEFAULTS, WebhookDispatcher } from './webhooks/dispatcher.js';
import { UnsubscribeService } from './services/unsubscribe.js';
import { isPublicAddress } from './lib/ip-ranges.js';
import { Signal } from './lib/signal.js';
import { formatDate } from './lib/time.js';
import { TokenSigner } from './lib/tokens.js';
import { TrackingTokens } from './lib/tracking-tokens.js';
import { TrackingService } from './services/tracking.js';
import { FeedbackStore } from './store/feedback.js';
import { InboundService } from './services/inbound.js';
import { parseInboundReport } from './mail/reports.js';
import { SealedTokens } from './lib/sealed-token.js';
import { DeliveryEngine } from './delivery/engine.js';
import { Router } from './delivery/route.js';
import { SmtpPool } from './delivery/smtp-pool.js';
import { createRenderer, defaultRenderThreads } from './mail/render-pool.js';
import { smtpCertificate, readPem } from './smtp/certificate.js';
import { startInbound } from './smtp/inbound.js';
import { startSubmission } from './smtp/submission.js';

/** The parts of Sesame one process can run. */
export const ROLES = ['api', 'smtp', 'worker'] as const;
export type Role = (typeof ROLES)[number];


/** Recipients a batch task's run queues per step. */
const TASK_CHUNK = 500;
/** The task runner: tasks one process works on at once, and how often it looks for due ones unprompted. */
const TASK_RUNNER = { concurrency: 4, pollMs: 1000 };
/** MX answers: addresses tried per delivery at most, how long an answer and a failed lookup are kept. */
const ROUTE_CACHE = { maxAddresses: 10, cacheMs: 60_000, failureCacheMs: 5_000 };
/** An idle outbound SMTP connection is closed after this long. */
const POOL_IDLE_MS = 30_000;

/** Channels of the store's wake-ups (PostgreSQL's NOTIFY): mail accepted, a batch task created or changed. */
const WAKE_ACCEPTED = 'sesame_accepted';
const WAKE_TASKS = 'sesame_tasks';
/** Of the drain limit, what is kept back for giving work back and closing the store, at most. */
const DRAIN_FINISH_MS = 2_000;

/** File name of the embedded database inside the data folder. */
export const SQLITE_FILE = 'sesame.db';

/** Opens the configured store: PostgreSQL when SESAME_DATABASE_URL is set, else the SQLite file. */
export async function openStore(config: Config, onCommit?: (seconds: number) => void): Promise<Db> {
  if (config.databaseUrl) {
    return openPostgres({ url: config.databaseUrl.href, allowWeakDurability: config.allowWeakDurability, onCommit });
  }
  return openSqlite({ file: join(config.dataDir, SQLITE_FILE), allowWeakDurability: config.allowWeakDurability, onCommit });
}

/** Every service, over one store: those the API's actions call, and the rest. */
export interface Services extends Omit<ActionServices, 'timezone'> {
  db: Db;
  /** The process's Prometheus metrics (the store's commit times among them). */
  metrics: Metrics;
  unsubscribes: UnsubscribeService;
  /** The runs of batch tasks (the worker's task runner steps through them). */
  taskRuns: TaskRuns;
  /** Notified after each accepted message (the delivery worker listens). */
  accepted: Signal;
  /** Notified when a batch task is created or changed (the task runner listens). */
  taskChanged: Signal;
  /** Deletes what is past retention and frees finished content (the worker's retention job runs its rounds). */
  retention: RetentionService;
  /** The rules every way of sending shares (the delivery worker asks them an account's standing). */
  rules: SendingRules;
  /** Opens and clicks (the HTTP edge's tracking routes). */
  tracking: TrackingService;
  /** The webhook outbox (the worker's dispatcher posts it). */
  outbox: WebhookOutbox;
  /** Mail to the bounce MX: later bounces, complaints, unsubscribe requests. */
  inbound: InboundService;
  /** The reputation rules (the worker's reputation job applies them). */
  reputation: ReputationService;
  /** What happens after delivery: later bounces, complaints, tracking hits. */
  feedback: FeedbackStore;
  /** Store access the delivery worker needs. */
  stores: { queue: DeliveryQueue; domains: DomainStore; unsubscriptions: UnsubscriptionStore; counts: SendCounts };
  box: SecretBox;
}

/** Opens the store, applies migrations, checks the master key, and builds the services. */
export async function openServices(config: Config, log: Logger = pino({ level: 'silent' }), metrics = new Metrics()): Promise<Services> {
  const db = await openStore(config, (seconds) => metrics.commit(seconds));
  try {
    await migrate(db);
    const box = loadMasterKey(config.masterKey, config.dataDir);
    const accountStore = new AccountStore(db);
    await checkMasterKey(box, accountStore);
    const domainStore = new DomainStore(db, accountStore);
    const templateStore = new TemplateStore(db, accountStore);
    const counts = new SendCounts(db);
    const dayOf = (ms: number): string => formatDate(ms, config.timezone);
    const unsubscriptions = new UnsubscriptionStore(db, dayOf);
    const rules = new SendingRules({ accounts: accountStore, domains: domainStore, templates: templateStore });
    const blocklists = new BlocklistService(new BlocklistStore(db), { timezone: config.timezone, bounceDays: config.blocklistDays });
    const senders = new SenderService(domainStore, { perDomain: config.senderLimit });
    const unsubscribeSettings = new UnsubscribeSettingService(new UnsubscribeSettingStore(db), senders);
    const accepted = new Signal();
    const taskChanged = new Signal();
    const receiverStore = new ReceiverStore(db);
    const taskStore = new TaskStore(db, counts);
    const receivers = new ReceiverService(receiverStore, { groups: config.receiverLimit, perGroup: config.receiverMaxRecipients, timezone: config.timezone },
      async (accountId, receiverId, q) => {
        const t = await taskStore.activeForGroup(q, accountId, receiverId);
        return t ? `task ${t.id} sends to it (end the task first)` : null;
      });
    const feedback = new FeedbackStore(db, dayOf);
    const unsubscribes = new UnsubscribeService(unsubscriptions, {
      link: new SealedTokens(box.subkey('unsubscribe link tokens')), legacyLink: unsubscribeTokens(box), address: unsubscribeAddressTokens(box),
    }, log);
    const statisticsStore = new StatisticsStore(db);
    const outbox = new WebhookOutbox(db);
    const taskPolicy = { timezone: config.timezone, dailyQuota: config.dailyQuota, bounceSubdomain: config.bounceSubdomain, chunk: TASK_CHUNK, maxPending: config.taskMaxPending };
    return {
      db,
      metrics,
      box,
      accepted,
      taskChanged,
      rules,
      feedback,
      tracking: new TrackingService(feedback, new TrackingTokens(trackingKey(box)), log),
      stores: { queue: new DeliveryQueue(db, dayOf), domains: domainStore, unsubscriptions, counts },
      accounts: new AccountService(accountStore, box, { templateReview: config.templateReview, tracking: config.tracking === 'on' }),
      templates: new TemplateService(templateStore, { perAccount: config.templateLimit, maxBytes: config.templateMaxBytes }),
      identities: identityService(config, domainStore, box, log),
      senders,
      blocklists,
      unsubscribeSettings,
      mail: new MailService({
        acceptance: new AcceptanceStore(db, counts),
        unsubscriptions,
        rules,
        blocklists,
        unsubscribeSettings,
        policy: {
          timezone: config.timezone,
          frequencyLimit: config.frequencyLimit,
          dailyQuota: config.dailyQuota,
          bounceSubdomain: config.bounceSubdomain,
        },
        accepted: () => accepted.notify(),
      }),
      receivers,
      tasks: new TaskService({
        tasks: taskStore,
        receivers: receiverStore,
        rules,
        unsubscribeSettings,
        policy: taskPolicy,
        changed: () => taskChanged.notify(),
      }),
      taskRuns: new TaskRuns({
        tasks: taskStore,
        receivers: receiverStore,
        accounts: accountStore,
        unsubscriptions,
        rules,
        blocklists,
        policy: taskPolicy,
        accepted: () => accepted.notify(),
      }),
      statistics: new StatisticsService(statisticsStore, { timezone: config.timezone }),
      callbacks: new CallbackService({
        store: new CallbackStore(db), domains: domainStore, box, dns: createDnsClient(config.dnsServers), allowPrivateNetworks: config.allowPrivateNetworks, log: outbox,
      }),
      capturedMail: new CapturedMailService({ store: new CapturedMailStore(db), capturing: config.delivery === 'capture' }),
      outbox,
      reputation: new ReputationService(new ReputationStore(db), statisticsStore, { timezone: config.timezone }, log),
      statuses: new StatusService(new StatusStore(db), { timezone: config.timezone, retentionDays: config.statusRetentionDays }),
      deliveryHistory: new DeliveryHistoryService(new DeliveryHistoryStore(db)),
      unsubscribes,
      inbound: new InboundService({
        feedback, blocklists, unsubscriptions, unsubscribes, domains: domainStore, bounceTokens: bounceTokens(box),
        bounceSubdomain: config.bounceSubdomain, parse: parseInboundReport, log,
      }),
      retention: new RetentionService(new RetentionStore(db), { timezone: config.timezone, retentionDays: config.statusRetentionDays }),
    };
  } catch (e) {
    await db.close();
    throw e;
  }
}

/**
 * Tokens of unsubscribe links as mail carried them before links were sealed, of unsubscribe
 * addresses, and of VERP bounce addresses: each under its own key.
 */
export const unsubscribeTokens = (box: SecretBox): TokenSigner => new TokenSigner(box.subkey('unsubscribe links'));
/** Tokens in `unsubscribe-<token>@` addresses (the List-Unsubscribe mailto): case-free, as addresses need. */
export const unsubscribeAddressTokens = (box: SecretBox): TokenSigner => new TokenSigner(box.subkey('unsubscribe addresses'), { macChars: 26, caseless: true });
/** The key of open and click tracking tokens. */
export const trackingKey = (box: SecretBox): Buffer => box.subkey('tracking links');
export const bounceTokens = (box: SecretBox): TokenSigner => new TokenSigner(box.subkey('bounce addresses'), { macChars: 16, caseless: true });

/** The delivery worker as configured. */
export function deliveryEngine(config: Config, s: Services, log: Logger): DeliveryEngine {
  const dns = createDnsClient(config.dnsServers);
  const relay = config.delivery === 'relay' && config.relayUrl ? config.relayUrl : undefined;
  const auth = relay?.username ? { user: decodeURIComponent(relay.username), pass: decodeURIComponent(relay.password) } : undefined;
  // Credentials never cross the network in clear, nor to a host that cannot prove it is the relay:
  // with them, TLS is required and checked, unless the operator turned TLS off outright.
  const tls = auth && config.outboundTls !== 'none' ? 'required' : config.outboundTls;
  // Addresses a tenant's recipient domain names must be public unless the operator says otherwise;
  // the relay is the operator's own choice, and is not filtered.
  const allowAddress = config.allowPrivateNetworks || relay ? undefined : isPublicAddress;
  const pool = new SmtpPool({
    ehloName: config.hostname,
    tls,
    extraCa: config.outboundTlsCa ? readPem(config.outboundTlsCa, 'SESAME_OUTBOUND_TLS_CA') : undefined,
    perTarget: config.connectionsPerHost,
    messagesPerConnection: config.messagesPerConnection,
    idleMs: POOL_IDLE_MS,
    auth,
    secure: relay?.protocol === 'smtps:',
    allowAddress,
  }, log);
  return new DeliveryEngine({
    queue: s.stores.queue,
    rules: s.rules,
    domains: s.stores.domains,
    unsubscriptions: s.stores.unsubscriptions,
    identities: s.identities,
    blocklists: s.blocklists,
    router: new Router(dns, { ...ROUTE_CACHE, allowAddress }),
    pool,
    renderer: createRenderer(config.renderThreads < 0 ? defaultRenderThreads() : config.renderThreads, {
      trackingKey: trackingKey(s.box), onBusy: (seconds) => s.metrics.renderBusy(seconds),
    }),
    onOutcome: (kind, domain) => s.metrics.delivery(kind, domain),
    unsubscribes: s.unsubscribes,
    bounceTokens: bounceTokens(s.box),
    log,
    policy: {
      mode: config.delivery,
      relay: relay ? { hostname: relay.hostname.replace(/^\[|\]$/g, ''), port: Number(relay.port || (relay.protocol === 'smtps:' ? 465 : 587)) } : undefined,
      port: config.outboundPort,
      concurrency: config.deliveryConcurrency,
      // Enough for every connection a host allows to have one message sending and one ready, and
      // for rendering to keep pace; a quarter of all slots at least, so one destination that stops
      // answering holds that much and no more (as Postfix's per-destination limit does).
      perDomain: Math.max(2 * config.connectionsPerHost, Math.ceil(config.deliveryConcurrency / 4)),
      leaseMs: config.deliveryLeaseSeconds * 1000,
      maxAgeMs: config.maxQueueHours * 3_600_000,
      retryMinutes: config.retryMinutes.map(Number),
      publicUrl: config.publicUrl,
    },
  });
}

/** The sender-domain service as configured (a DNS client can be given, e.g. by tests). */
export function identityService(config: Config, store: DomainStore, box: SecretBox, log: Logger, dns: DnsClient = createDnsClient(config.dnsServers)): IdentityService {
  return new IdentityService(store, dns, box, {
    selector: config.dkimSelector,
    bounceSubdomain: config.bounceSubdomain,
    mxHost: config.mxHost ?? config.hostname,
    spf: { include: config.spfInclude, ips: config.sendingIps, hostname: config.hostname },
    sendingIps: config.sendingIps,
    domainLimit: config.domainLimit,
    reputationLevel: config.reputationLevel,
    dailyQuota: config.dailyQuota,
    recheckMs: config.dnsRecheckMinutes * 60_000,
  }, log);
}

/** A running Sesame. */
export interface App {
  readonly services: Services;
  /** The bound HTTP port: the API's, or (without the api role) that of health and metrics alone. */
  readonly httpPort: number | undefined;
  /** Port of the inbound listener (smtp role). */
  readonly mxPort: number | undefined;
  /** The bound submission ports (smtp role). */
  readonly smtpPorts: { smtp: number; smtps: number } | undefined;
  /** Credentials of the first account when this start created it (print once). */
  readonly firstAccount: NewCredentials | null;
  /** Whether it is ready for traffic (what /readyz answers). */
  readiness(): Promise<Readiness>;
  /**
   * Drains: stops accepting at once, lets work in flight finish within SESAME_DRAIN_SECONDS (less
   * a moment to give the rest back), then closes the store.
   */
  close(): Promise<void>;
}

/** Options of a start. */
export interface StartOptions {
  roles: readonly Role[];
  log: Logger;
}

/** A start that cannot do anything useful; the message says why. */
export class StartError extends Error {}

/** Starts the roles asked for. */
export async function startApp(config: Config, opts: StartOptions): Promise<App> {
  const { log } = opts;
  if (opts.roles.length === 0) throw new StartError('Nothing to run: name at least one role (api, smtp, worker).');
  const services = await openServices(config, log);
  const stops: (() => Promise<void>)[] = [];
  const metrics = services.metrics.withProcessMetrics();
  metrics.setProbe(async () => ({ deliveries: await services.stores.queue.depth(Date.now()), webhooks: await services.outbox.backlog() }));
  let started = false;
  let draining = false;
  /** While draining, when the work in flight must be done (the rest is given back). */
  let drainDeadline = Infinity;
  const drainLeft = (): number => Math.max(0, drainDeadline - Date.now());
  const beginDrain = (): void => {
    draining = true;
    const drainMs = config.drainSeconds * 1000;
    drainDeadline = Date.now() + drainMs - Math.min(DRAIN_FINISH_MS, drainMs / 4);
  };
  const readiness = (): Promise<Readiness> => checkReadiness(services.db, { started, draining });
  const metricsAccess = config.metrics === 'on' ? { metrics, allow: new AddressAllowList(config.metricsAllow) } : null;
  // Work accepted here wakes the workers of every process on the store, not only this one's (until
  // the very end of a drain: the last requests' mail too).
  const wakeups = services.db.wakeups;
  const unhookAccepted = wakeups ? services.accepted.on(() => wakeups.notify(WAKE_ACCEPTED)) : null;
  const unhookTasks = wakeups ? services.taskChanged.on(() => wakeups.notify(WAKE_TASKS)) : null;
  const unhook = (): void => { unhookAccepted?.(); unhookTasks?.(); };
  try {
    const firstAccount = await services.accounts.ensureFirst({ secretId: config.secretId, secretKey: config.secretKey });
    if (firstAccount) log.info({ appId: firstAccount.AppId, secretId: firstAccount.SecretId }, 'first account created');

    let httpPort: number | undefined;
    if (opts.roles.includes('api')) {
      const registry = buildRegistry({ ...services, timezone: config.timezone });
      const api = new ApiEndpoint({
        registry,
        findKey: (id) => services.accounts.findKey(id),
        regions: config.regions,
        rateLimit: config.apiRateLimit,
        rateLimits: config.apiRateLimits,
        preauthBytesPerClient: config.httpPreauthBytesPerIp,
        log,
        onAnswer: (action, code, seconds) => metrics.apiRequest(action, code, seconds),
      });
      const consoleApi = new ConsoleApi({
        endpoint: api,
        sessions: new ConsoleSessions({
          store: new ConsoleSessionStore(services.db),
          accounts: services.accounts,
          // Failed sign-ins count as failed SMTP logins do (a throttle of the console's own).
          throttle: new AuthThrottle({ maxFailures: config.smtpAuthMaxFailures, lockoutMs: config.smtpAuthLockoutMinutes * 60_000 }),
          sessionMs: config.consoleSessionHours * 3_600_000,
        }),
        secureCookie: config.publicUrl.protocol === 'https:',
        timeZone: config.timezone,
        capture: config.delivery === 'capture',
        log,
      });
      const httpServer = createHttpServer({
        api, console: consoleApi, unsubscribes: services.unsubscribes, tracking: services.tracking, health: () => services.db.ping(), log,
        ready: readiness,
        metrics: metricsAccess,
        limits: {
          maxConnectionsPerClient: config.httpMaxConnectionsPerIp,
          bodyIdleMs: config.httpBodyIdleSeconds * 1000,
          requestTimeoutMs: config.httpRequestTimeoutSeconds * 1000,
        },
      });
      httpPort = await listen(httpServer, config.listenHost, config.httpPort);
      // Hits of the last requests are written before the store closes.
      stops.push(async () => { await stopServer(httpServer, drainLeft()); await services.tracking.flush(); });
      log.info({ host: config.listenHost, port: httpPort, actions: registry.implemented().length }, 'HTTP API listening');
    }
    let mxPort: number | undefined;
    let smtpPorts: { smtp: number; smtps: number } | undefined;
    if (opts.roles.includes('smtp')) {
      const tls = await smtpCertificate({ certFile: config.tlsCert, keyFile: config.tlsKey, dataDir: config.dataDir, hostname: config.hostname, log });
      const submission = await startSubmission({
        host: config.listenHost,
        smtpPort: config.smtpPort,
        smtpsPort: config.smtpsPort,
        hostname: config.hostname,
        tls,
        limits: {
          maxMessageBytes: config.smtpMaxMessageBytes,
          maxRecipients: config.smtpMaxRecipients,
          maxLineLength: config.smtpMaxLineLength,
          maxConnectionsPerAddress: config.smtpMaxConnectionsPerIp,
          idleMs: config.smtpIdleSeconds * 1000,
          sessionMs: config.smtpSessionSeconds * 1000,
        },
        rateLimit: config.smtpRateLimit,
        auth: { maxFailures: config.smtpAuthMaxFailures, lockoutMs: config.smtpAuthLockoutMinutes * 60_000 },
        domains: services.stores.domains,
        mail: services.mail,
        log,
        observe: (what) => (what === 'session' ? metrics.smtpSession('submission') : metrics.smtpMessage('submission', what)),
      });
      smtpPorts = { smtp: submission.smtpPort, smtps: submission.smtpsPort };
      stops.push(() => submission.close());
      log.info({ host: config.listenHost, smtpPort: submission.smtpPort, smtpsPort: submission.smtpsPort }, 'SMTP submission listening (STARTTLS, implicit TLS)');
      const inbound = await startInbound({
        host: config.listenHost, port: config.mxPort, hostname: config.hostname, tls, inbound: services.inbound, log,
        observe: (what) => (what === 'session' ? metrics.smtpSession('inbound') : metrics.smtpMessage('inbound', what)),
      });
      mxPort = inbound.port;
      stops.push(() => inbound.close());
      log.info({ host: config.listenHost, port: mxPort }, 'inbound SMTP listening (bounces, complaints, unsubscribe requests by mail)');
    }
    if (opts.roles.includes('worker')) {
      // Each periodic job runs one round at a time across the cluster, under its lease.
      const jobLeases = new JobLeases(services.db);
      const lease = (job: JobName): JobLease => new JobLease(jobLeases, job, { everyMs: config.periodicJobs[job], leaseMs: config.periodicJobLease }, log);
      const recheck = new DomainRecheck(services.identities, log, lease('dns-recheck'), config.periodicJobs['dns-recheck']);
      recheck.start();
      stops.push(() => recheck.stop());
      const retention = new RetentionJob(services.retention, log, lease('retention'), config.periodicJobs.retention);
      retention.start();
      stops.push(() => retention.stop());
      if (config.dailyQuota.kind === 'reputation') {
        const reputation = new ReputationJob(services.reputation, log, lease('reputation'), config.periodicJobs.reputation);
        reputation.start();
        stops.push(() => reputation.stop());
      }
      const dispatcher = new WebhookDispatcher({
        outbox: services.outbox, box: services.box, dns: createDnsClient(config.dnsServers), log, onResult: (kind) => metrics.webhook(kind),
        policy: {
          ...DISPATCH_DEFAULTS,
          retryScheduleMs: config.webhookRetrySchedule,
          disableAfterMs: config.webhookDisableAfter,
          allowPrivateNetworks: config.allowPrivateNetworks,
        },
      });
      dispatcher.start();
      stops.push(() => dispatcher.stop());
      const runner = new TaskRunner(services.taskRuns, log, { ...TASK_RUNNER, leaseMs: config.deliveryLeaseSeconds * 1000 });
      const unlistenTasks = services.taskChanged.on(() => runner.poke());
      const unwakeTasks = wakeups?.listen(WAKE_TASKS, () => runner.poke());
      runner.start();
      stops.push(async () => { unlistenTasks(); unwakeTasks?.(); await runner.stop(); });
      const engine = deliveryEngine(config, services, log);
      const unlisten = services.accepted.on(() => engine.wake());
      const unwake = wakeups?.listen(WAKE_ACCEPTED, () => engine.wake());
      engine.start();
      stops.push(async () => { unlisten(); unwake?.(); await engine.stop(drainLeft()); });
      log.info({ delivery: config.delivery, concurrency: config.deliveryConcurrency, dnsRecheckMinutes: config.dnsRecheckMinutes, statusRetentionDays: config.statusRetentionDays, reputation: config.dailyQuota.kind === 'reputation' }, 'worker running: delivery, batch tasks, the periodic DNS re-check, retention and reputation');
    }

    if (!opts.roles.includes('api')) {
      // Probed and scraped like the others; a port taken (by this machine's api process, say) costs
      // only that, not the start.
      const ops = createOperationsServer({ health: () => services.db.ping(), ready: readiness, metrics: metricsAccess, log });
      try {
        httpPort = await listen(ops, config.listenHost, config.httpPort);
        stops.push(() => stopServer(ops, drainLeft()));
        log.info({ host: config.listenHost, port: httpPort }, 'health and metrics listening (/healthz, /readyz, /metrics)');
      } catch (err) {
        log.warn({ err, port: config.httpPort }, 'health and metrics not served: the HTTP port is taken (give this process a SESAME_HTTP_PORT of its own)');
      }
    }
    started = true;
    let closing: Promise<void> | null = null;
    return {
      services,
      httpPort,
      mxPort,
      smtpPorts,
      firstAccount,
      readiness,
      close() {
        closing ??= (async () => {
          beginDrain();
          for (const stop of stops) await stop();
          unhook();
          await services.db.close();
          log.info('stopped');
        })();
        return closing;
      },
    };
  } catch (e) {
    beginDrain();
    for (const stop of stops) await stop();
    unhook();
    await services.db.close();
    throw e;
  }
}

/** The store answers, its schema is this program's, every role has started, and it is not draining. */
async function checkReadiness(db: Db, state: { started: boolean; draining: boolean }): Promise<Readiness> {
  const latest = MIGRATIONS[MIGRATIONS.length - 1].version;
  // Findings only, never an error's text: /readyz answers anyone who can reach the HTTP port.
  let store = 'ok';
  let migrations = 'ok';
  try {
    await db.ping();
    const version = await schemaVersion(db);
    if (version < latest) migrations = `the schema is at version ${version}; this Sesame needs ${latest}`;
  } catch {
    store = 'unreachable';
    migrations = 'unknown (the store is unreachable)';
  }
  const checks = {
    store,
    migrations,
    roles: state.started ? 'ok' : 'starting',
    drain: state.draining ? 'draining: taking no new work' : 'ok',
  };
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
}

/**
 * The structured logger on standard output: JSON lines, or (`pretty`, or `auto` on a terminal) a
 * line for people to read, from the same records.
 */
export function createLogger(level: string, destination?: pino.DestinationStream, format: Config['logFormat'] = 'json'): Logger {
  const readable = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const out = destination ?? (readable
    ? pinoPretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : pino.destination({ dest: 1, sync: false }));
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, out);
}
