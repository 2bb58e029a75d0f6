#!/usr/bin/env node
/**
 * The `sesame` command: serve, migrate, account (and its keys), template, backup, store copy, config. Configuration comes from the
 * environment (and SESAME_CONFIG); a bad setting stops the command before anything starts.
 */
import { setFlagsFromString } from 'node:v8';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, describeConfig, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, openServices, openStore, ROLES, startApp, StartError, type Role, type Services } from '../main.js';
import type { AccountRow } from '../store/accounts.js';
import { DurabilityError, StoreRefusal } from '../store/db.js';
import { migrate } from '../store/migrations.js';
import { CodedError } from '../errors/coded-error.js';
import { backupCommand, storeCopyCommand } from './store-commands.js';

const program = new Command('sesame')
  .description('Sesame: a self-hosted email service that speaks the Tencent Cloud SES API (2020-10-02).')
  .showHelpAfterError();

program.command('serve')
  .description('Run the service: the HTTP API, SMTP and the delivery worker (all roles by default).')
  .addOption(new Option('--roles <roles>', `comma-separated roles to run: ${ROLES.join(', ')}`).default([...ROLES], ROLES.join(',')).argParser(parseRoles))
  .action(async (opts: { roles: Role[] }) => serve(opts.roles));

program.command('migrate')
  .description('Apply the store\'s schema migrations and exit.')
  .action(async () => {
    // The store alone: opening the services would migrate first and leave nothing to report.
    const db = await openStore(config());
    try {
      out({ applied: await migrate(db) });
    } finally {
      await db.close();
    }
  });

const account = program.command('account').description('Manage accounts (each has its own API key and data).');
account.command('create')
  .description('Create an account; prints its AppId, SecretId and SecretKey as JSON (the SecretKey is shown only once).')
  .requiredOption('--name <name>', 'a name for the account')
  .option('--template-review', 'templates of this account wait for an operator\'s approval')
  .option('--rate-limit <n>', 'API requests per second per action for this account (0: no limit)', parseCount)
  .action((opts: { name: string; templateReview?: boolean; rateLimit?: number }) => withServices(async (s) => {
    out(await s.accounts.create({ name: opts.name, templateReview: opts.templateReview, apiRateLimit: opts.rateLimit }));
  }));
account.command('list')
  .description('List accounts (no secrets).')
  .action(() => withServices(async (s) => {
    out((await s.accounts.list()).map((a) => ({
      AppId: a.app_id, Name: a.name, TemplateReview: a.template_review === 1, RateLimit: a.api_rate_limit, CreatedAt: new Date(a.created_at).toISOString(),
      Simple: a.free_content === null ? 'default' : a.free_content === 1 ? 'on' : 'off',
      Tracking: a.tracking === 1 ? 'on' : 'off',
      Disabled: a.disabled_at !== null, DisabledAt: a.disabled_at === null ? null : new Date(a.disabled_at).toISOString(),
    })));
  }));
for (const state of ['disable', 'enable'] as const) {
  account.command(state)
    .description(state === 'disable'
      ? 'Suspend an account: from its next request on, in every process, its API keys answer AuthFailure.UnauthorizedOperation, its SMTP logins are refused and its batch tasks start nothing.'
      : 'Make a suspended account active again.')
    .requiredOption('--app-id <appId>', 'the account\'s AppId', parseCount)
    .action((opts: { appId: number }) => withServices(async (s) => {
      if (!(await s.accounts.setDisabled(opts.appId, state === 'disable'))) throw new UserError(`There is no account with AppId ${opts.appId}.`);
      out({ AppId: opts.appId, Disabled: state === 'disable' });
    }));
}

const key = account.command('key').description('Manage an account\'s API keys (a revoked key is refused from the next request on, in every process).');
key.command('create')
  .description('Add an API key to an account; prints its AppId, SecretId and SecretKey as JSON (the SecretKey is shown only once).')
  .requiredOption('--app-id <appId>', 'the account\'s AppId', parseCount)
  .option('--secret-id <secretId>', 'the SecretId to give it (AKID and 32 letters or digits, not in use); generated when not given')
  .action((opts: { appId: number; secretId?: string }) => withServices(async (s) => {
    out(await s.accounts.createKey(await accountOf(s, opts.appId), { secretId: opts.secretId }));
  }));
key.command('revoke')
  .description('Revoke one of an account\'s API keys (its last one too: the account then has no API access until a key is created).')
  .requiredOption('--app-id <appId>', 'the account\'s AppId', parseCount)
  .requiredOption('--secret-id <secretId>', 'the SecretId of the key')
  .action((opts: { appId: number; secretId: string }) => withServices(async (s) => {
    const a = await accountOf(s, opts.appId);
    if (!(await s.accounts.revokeKey(a.id, opts.secretId))) throw new UserError(`The account with AppId ${opts.appId} has no API key with SecretId ${opts.secretId}.`);
    out({ AppId: opts.appId, SecretId: opts.secretId, Revoked: true });
  }));
key.command('list')
  .description('List an account\'s API keys: SecretIds and when they were created (never the secrets).')
  .requiredOption('--app-id <appId>', 'the account\'s AppId', parseCount)
  .action((opts: { appId: number }) => withServices(async (s) => {
    const a = await accountOf(s, opts.appId);
    out((await s.accounts.listKeys(a.id)).map((k) => ({ SecretId: k.secret_id, CreatedAt: new Date(k.created_at).toISOString() })));
  }));
account.command('update')
  .description('Change an account\'s settings.')
  .requiredOption('--app-id <appId>', 'the account\'s AppId', parseCount)
  .addOption(new Option('--template-review <on|off>', 'whether templates need an operator\'s approval').choices(['on', 'off']))
  .addOption(new Option('--simple <on|off|default>', 'whether the account may send content of its own (Simple in SendEmail and BatchSendEmail, and any message over SMTP submission), not only templates; default: yes unless its templates need review').choices(['on', 'off', 'default']))
  .addOption(new Option('--tracking <on|off>', 'open and click tracking in the account\'s HTML mail (applies to mail not yet sent)').choices(['on', 'off']))
  .option('--rate-limit <n|default>', 'API requests per second per action (0: no limit; default: the configured one)', (v) => (v === 'default' ? null : parseCount(v)))
  .action((opts: { appId: number; templateReview?: 'on' | 'off'; simple?: 'on' | 'off' | 'default'; tracking?: 'on' | 'off'; rateLimit?: number | null }) => withServices(async (s) => {
    const onOff = (v: 'on' | 'off' | undefined): boolean | undefined => (v === undefined ? undefined : v === 'on');
    const ok = await s.accounts.update(opts.appId, {
      templateReview: onOff(opts.templateReview),
      freeContent: opts.simple === 'default' ? null : onOff(opts.simple),
      apiRateLimit: opts.rateLimit,
      tracking: onOff(opts.tracking),
    });
    if (!ok) throw new UserError(`There is no account with AppId ${opts.appId}.`);
    out({ updated: opts.appId });
  }));

const template = program.command('template').description('Review templates of accounts that require review.');
template.command('pending')
  .description('List the templates waiting for review in an account.')
  .requiredOption('--app-id <appId>', 'the account\'s AppId', parseCount)
  .action((opts: { appId: number }) => withServices(async (s) => {
    const id = await accountId(s, opts.appId);
    out((await s.templates.pending(id)).map((t) => ({ TemplateID: t.id, TemplateName: t.name, Variables: t.variables })));
  }));
for (const decision of ['approve', 'reject'] as const) {
  template.command(decision)
    .description(decision === 'approve' ? 'Approve a template (TemplateStatus 0).' : 'Reject a template (TemplateStatus 2) with a reason.')
    .requiredOption('--app-id <appId>', 'the account\'s AppId', parseCount)
    .requiredOption('--id <templateId>', 'the TemplateID', parseCount)
    [decision === 'reject' ? 'requiredOption' : 'option']('--reason <text>', 'the ReviewReason shown to the account')
    .action((opts: { appId: number; id: number; reason?: string }) => withServices(async (s) => {
      const id = await accountId(s, opts.appId);
      await s.templates.review(id, opts.id, decision, opts.reason ?? (decision === 'approve' ? 'Approved' : ''));
      out({ TemplateID: opts.id, TemplateStatus: decision === 'approve' ? 0 : 2 });
    }));
}

const callback = program.command('callback').description('Where an account\'s events are posted (as SetEmailCallback and ListEmailCallbacks do).');
callback.command('set')
  .description('Set the account\'s callback URL, or a sender address\'s (an empty URL removes it); prints its signing secret.')
  .requiredOption('--app-id <appId>', 'the account\'s AppId', parseCount)
  .requiredOption('--url <url>', 'http(s) URL ("" removes the callback)')
  .option('--address <address>', 'a sender address of the account (default: the account level)')
  .action((opts: { appId: number; url: string; address?: string }) => withServices(async (s) => {
    const id = await accountId(s, opts.appId);
    out({ Secret: await s.callbacks.set(id, { url: opts.url, address: opts.address }) });
  }));
callback.command('list')
  .description('List the account\'s callbacks, with their secrets.')
  .requiredOption('--app-id <appId>', 'the account\'s AppId', parseCount)
  .action((opts: { appId: number }) => withServices(async (s) => {
    const id = await accountId(s, opts.appId);
    out((await s.callbacks.list(id)).map((c) => ({ Address: c.address, CallbackUrl: c.url, Secret: c.secret, Status: c.active ? 1 : 0, CreatedTimestamp: Math.floor(c.createdAt / 1000) })));
  }));

const inbound = program.command('inbound').description('Mail the bounce MX took but could not match to a delivery (kept as long as statuses).');
inbound.command('list')
  .description('List kept inbound mail, newest first.')
  .option('--limit <n>', 'how many', parseCount, 50)
  .action((opts: { limit: number }) => withServices(async (s) => {
    out((await s.feedback.listKept(opts.limit)).map((k) => ({
      Id: k.id, ReceivedAt: new Date(k.received_at).toISOString(), Client: k.client, MailFrom: k.mail_from, RcptTo: k.rcpt_to, Reason: k.reason, Bytes: k.size,
    })));
  }));
inbound.command('show')
  .description('Print a kept inbound mail as received (its first MB).')
  .requiredOption('--id <id>', 'its Id (from inbound list)', parseCount)
  .action((opts: { id: number }) => withServices(async (s) => {
    const raw = await s.feedback.keptContent(opts.id);
    if (!raw) throw new UserError(`There is no kept inbound mail with Id ${opts.id}.`);
    process.stdout.write(raw);
  }));

program.command('backup')
  .description('Copy the SQLite store, online and consistent (safe while sesame serve runs), to FILE, and its master key to FILE.key (mode 0600); prints a JSON summary. PostgreSQL: use pg_dump.')
  .requiredOption('--to <file>', 'the backup file to create (never overwritten)')
  .action(async (opts: { to: string }) => out(await backupCommand(config(), opts.to)));

const store = program.command('store').description('Move the store.');
store.command('copy')
  .description('Copy the stopped SQLite store (SESAME_DATA_DIR) into an empty PostgreSQL database in one transaction, ids kept, every table\'s rows counted on both sides; prints a JSON summary.')
  .requiredOption('--to <url>', 'postgres://… of an empty database')
  .option('--key-out <file>', 'also write the master key to this new file (mode 0600), for the PostgreSQL nodes\' SESAME_MASTER_KEY')
  .option('--batch-rows <n>', 'rows per INSERT (at most; default 5000)', parseCount)
  .action(async (opts: { to: string; keyOut?: string; batchRows?: number }) => out(await storeCopyCommand(config(), opts)));

program.command('config')
  .description('Print the effective configuration (secrets masked).')
  .action(() => {
    const c = config();
    for (const row of describeConfig(c)) process.stdout.write(`${row.env}=${row.value}${row.isDefault ? '  (default)' : ''}\n`);
  });

/** A mistake of the user's, printed without a stack trace. */
class UserError extends Error {}

function parseRoles(v: string): Role[] {
  const roles = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const r of roles) if (!(ROLES as readonly string[]).includes(r)) throw new InvalidArgumentError(`unknown role "${r}"; roles are ${ROLES.join(', ')}`);
  if (!roles.length) throw new InvalidArgumentError('name at least one role');
  return roles as Role[];
}

function parseCount(v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(v);
}

function config(): Config {
  return loadConfig(process.env);
}

function out(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

async function accountOf(s: Services, appId: number): Promise<AccountRow> {
  const a = await s.accounts.byAppId(appId);
  if (!a) throw new UserError(`There is no account with AppId ${appId}.`);
  return a;
}

async function accountId(s: Services, appId: number): Promise<number> {
  return (await accountOf(s, appId)).id;
}

async function withServices(fn: (s: Services) => Promise<void>): Promise<void> {
  const s = await openServices(config());
  try {
    await fn(s);
  } finally {
    await s.db.close();
  }
}

/**
 * V8 lets the old generation grow to several times what is live before it collects (on a machine
 * with much memory, by hundreds of MB): a server whose requests briefly hold many objects (a
 * 20,000-address upload) would keep that garbage resident. Collecting once the heap has grown by a
 * fifth keeps resident memory near what is in use, at the cost of more frequent (short) collections
 * of a heap that stays small by design.
 */
const HEAP_GROWING_PERCENT = 20;

async function serve(roles: Role[]): Promise<void> {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const c = config();
  const log = createLogger(c.logLevel, undefined, c.logFormat);
  const app = await startApp(c, { roles, log });
  if (app.firstAccount) {
    // Printed once, outside the log: the log never carries a SecretKey.
    process.stdout.write(`\nFirst account created. Keep these credentials; the SecretKey is not shown again:\n${JSON.stringify(app.firstAccount)}\n\n`);
  }
  log.info({ roles, httpPort: app.httpPort, smtpPorts: app.smtpPorts, mxPort: app.mxPort }, 'ready');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      // A second signal: the operator does not want to wait.
      log.warn({ signal }, 'stopping now, without waiting for work in flight');
      log.flush();
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, drainSeconds: c.drainSeconds }, 'draining: taking no new work, finishing what is in flight');
    // The drain has a limit: whatever still holds the process then (a hung connection, say) does not.
    setTimeout(() => {
      log.error({ drainSeconds: c.drainSeconds }, 'still running at the end of the drain limit: exiting now');
      log.flush();
      process.exit(1);
    }, c.drainSeconds * 1000).unref();
    app.close().then(() => { log.flush(); process.exitCode = 0; }, (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      log.flush();
      process.exitCode = 1;
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof ConfigError || e instanceof DurabilityError || e instanceof UserError || e instanceof StartError || e instanceof CodedError || e instanceof StoreRefusal) {
    process.stderr.write(`sesame: ${e.message}\n`);
  } else {
    process.stderr.write(`sesame: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  }
  process.exitCode = 1;
});
