/**
 * Composition root: configuration → store → services → the roles asked for. Only this file chooses
 * a store adapter.
 */
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { ApiEndpoint } from './api/endpoint.js';
import { createHttpServer, listen, stopServer } from './api/http-server.js';
import { Registry } from './api/registry.js';
import { templateActions } from './api/actions/templates.js';
import type { Config } from './config/schema.js';
import { AccountService, type NewCredentials } from './services/accounts.js';
import { checkMasterKey, loadMasterKey } from './services/master-key.js';
import { TemplateService } from './services/templates.js';
import { AccountStore } from './store/accounts.js';
import type { Db } from './store/db.js';
import { migrate } from './store/migrations.js';
import { openPostgres } from './store/postgres.js';
import { openSqlite } from './store/sqlite.js';
import { TemplateStore } from './store/templates.js';

/** The parts of Sesame one process can run. */
export const ROLES = ['api', 'smtp', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/** File name of the embedded database inside the data folder. */
export const SQLITE_FILE = 'sesame.db';

/** Opens the configured store: PostgreSQL when SESAME_DATABASE_URL is set, else the SQLite file. */
export async function openStore(config: Config): Promise<Db> {
  if (config.databaseUrl) {
    return openPostgres({ url: config.databaseUrl.href, allowWeakDurability: config.allowWeakDurability });
  }
  return openSqlite({ file: join(config.dataDir, SQLITE_FILE), allowWeakDurability: config.allowWeakDurability });
}

/** Every service, over one store. */
export interface Services {
  db: Db;
  accounts: AccountService;
  templates: TemplateService;
}

/** Opens the store, applies migrations, checks the master key, and builds the services. */
export async function openServices(config: Config): Promise<Services> {
  const db = await openStore(config);
  try {
    await migrate(db);
    const box = loadMasterKey(config.masterKey, config.dataDir);
    const accountStore = new AccountStore(db);
    await checkMasterKey(box, accountStore);
    return {
      db,
      accounts: new AccountService(accountStore, box, { templateReview: config.templateReview }),
      templates: new TemplateService(new TemplateStore(db, accountStore), {
        perAccount: config.templateLimit,
        maxBytes: config.templateMaxBytes,
      }),
    };
  } catch (e) {
    await db.close();
    throw e;
  }
}

/** A running Sesame. */
export interface App {
  readonly services: Services;
  /** The bound HTTP port when the api role runs. */
  readonly httpPort: number | undefined;
  /** Credentials of the first account when this start created it (print once). */
  readonly firstAccount: NewCredentials | null;
  /** Stops accepting, finishes what is in flight, closes the store. */
  close(): Promise<void>;
}

/** Options of a start. */
export interface StartOptions {
  roles: readonly Role[];
  log: Logger;
}

/** Roles this version can run; the others are announced and skipped. */
const BUILT_ROLES: readonly Role[] = ['api'];

/** A start that cannot do anything useful; the message says why. */
export class StartError extends Error {}

/** Starts the roles asked for. */
export async function startApp(config: Config, opts: StartOptions): Promise<App> {
  const { log } = opts;
  if (!opts.roles.some((r) => BUILT_ROLES.includes(r))) {
    throw new StartError(`Nothing to run: the ${opts.roles.join(' and ')} role${opts.roles.length > 1 ? 's are' : ' is'} not built yet. Run the api role.`);
  }
  const services = await openServices(config);
  const firstAccount = await services.accounts.ensureFirst({ secretId: config.secretId, secretKey: config.secretKey });
  if (firstAccount) log.info({ appId: firstAccount.AppId, secretId: firstAccount.SecretId }, 'first account created');

  let httpServer: ReturnType<typeof createHttpServer> | undefined;
  let httpPort: number | undefined;
  if (opts.roles.includes('api')) {
    const registry = new Registry(templateActions(services.templates));
    const api = new ApiEndpoint({
      registry,
      findKey: (id) => services.accounts.findKey(id),
      regions: config.regions,
      rateLimit: config.apiRateLimit,
      rateLimits: config.apiRateLimits,
      log,
    });
    httpServer = createHttpServer({ api, health: () => services.db.ping(), log });
    try {
      httpPort = await listen(httpServer, config.listenHost, config.httpPort);
    } catch (e) {
      await services.db.close();
      throw e;
    }
    log.info({ host: config.listenHost, port: httpPort, actions: registry.implemented().length }, 'HTTP API listening');
  }
  for (const role of opts.roles) {
    if (!BUILT_ROLES.includes(role)) log.warn({ role }, `the ${role} role is not built yet; this process runs without it`);
  }

  let closing: Promise<void> | null = null;
  return {
    services,
    httpPort,
    firstAccount,
    close() {
      closing ??= (async () => {
        if (httpServer) await stopServer(httpServer, config.shutdownTimeoutMs);
        await services.db.close();
        log.info('stopped');
      })();
      return closing;
    },
  };
}

/** The structured logger: JSON lines on standard output. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination ?? pino.destination({ dest: 1, sync: false }));
}
