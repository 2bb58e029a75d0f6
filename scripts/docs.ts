/**
 * Generates the tables of docs/CONFIG.md, docs/ERRORS.md and docs/API.md from the code (the config
 * schema, the error catalogue, the action registry), between `<!-- generated -->` markers, so the
 * docs cannot drift. `npm run docs` writes them; the docs test fails when they are stale.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRegistry, type ActionServices } from '../src/api/actions/index.js';
import { ACTION_NAMES, type ActionName } from '../src/schema/ses.js';
import { SCHEMA } from '../src/config/schema.js';
import type { Setting } from '../src/config/settings.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../src/errors/catalogue.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const START = '<!-- generated:start (npm run docs) -->';
const END = '<!-- generated:end -->';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function configTable(): string {
  const rows = Object.values(SCHEMA).map((s) => {
    const setting = s as Setting<unknown>;
    const def = setting.defaultText === undefined ? '(unset)' : setting.env === 'SESAME_HOSTNAME' ? 'the machine\'s host name' : `\`${setting.defaultText}\``;
    return `| \`${setting.env}\` | ${cell(def)} | ${cell(setting.allowed)} | ${cell(setting.description)}${setting.secret ? ' *Secret: masked by `sesame config`.*' : ''} |`;
  });
  return ['| Setting | Default | Allowed | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** Codes that appear as string literals in the server's sources (outside the catalogue and tests). */
export function codesUsedInSource(): Set<ErrorCode> {
  const used = new Set<ErrorCode>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) { walk(p); continue; }
      if (!p.endsWith('.ts') || p.endsWith('.test.ts') || p.endsWith('catalogue.ts')) continue;
      const text = readFileSync(p, 'utf8');
      for (const m of text.matchAll(/'([A-Za-z]+(?:\.[A-Za-z0-9]+)*)'/g)) {
        if (Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, m[1])) used.add(m[1] as ErrorCode);
      }
    }
  };
  walk(join(ROOT, 'src'));
  return used;
}

function errorsTable(): string {
  const used = codesUsedInSource();
  const out: string[] = [];
  for (const scope of ['common', 'ses'] as const) {
    out.push(`### ${scope === 'common' ? 'Common codes (API 3.0)' : 'SES codes'}`, '');
    out.push('| Code | Returned today | Default message |', '|---|---|---|');
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      if (entry.scope !== scope) continue;
      out.push(`| \`${code}\` | ${used.has(code as ErrorCode) ? 'yes' : 'not yet'} | ${cell(entry.message)} |`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}

/** The groups of the Tencent docs, and the issue that builds each one not built yet. */
const GROUPS: { name: string; actions: ActionName[]; planned: string }[] = [
  { name: 'Domain verification', actions: ['CreateEmailIdentity', 'GetEmailIdentity', 'UpdateEmailIdentity', 'ListEmailIdentities', 'DeleteEmailIdentity'], planned: 'issue 3' },
  { name: 'Sender addresses', actions: ['CreateEmailAddress', 'ListEmailAddress', 'DeleteEmailAddress', 'UpdateEmailSmtpPassWord'], planned: 'issue 3' },
  { name: 'Templates', actions: ['CreateEmailTemplate', 'UpdateEmailTemplate', 'GetEmailTemplate', 'ListEmailTemplates', 'DeleteEmailTemplate'], planned: 'issue 2' },
  { name: 'Sending', actions: ['SendEmail', 'BatchSendEmail'], planned: 'issue 6' },
  { name: 'Status', actions: ['GetSendEmailStatus', 'ListSendTasks'], planned: 'issue 6' },
  { name: 'Statistics', actions: ['GetStatisticsReport'], planned: 'a later issue' },
  { name: 'Recipient groups', actions: ['CreateReceiver', 'CreateReceiverDetail', 'CreateReceiverDetailWithData', 'ListReceivers', 'ListReceiverDetails', 'DeleteReceiver'], planned: 'issue 6' },
  { name: 'Blocklist', actions: ['ListBlackEmailAddress', 'DeleteBlackList'], planned: 'issue 3' },
  { name: 'Custom blocklist', actions: ['CreateCustomBlacklist', 'UpdateCustomBlackList', 'DeleteCustomBlackList', 'ListCustomBlacklist'], planned: 'issue 3' },
  { name: 'Unsubscribe settings', actions: ['CreateAddressUnsubscribeConfig', 'UpdateAddressUnsubscribeConfig', 'DeleteAddressUnsubscribeConfig', 'ListAddressUnsubscribeConfig'], planned: 'issue 3' },
  { name: 'Abuse reports', actions: ['GetAbuseReport'], planned: 'a later issue' },
];

/** Deliberate differences from Tencent, per action. */
const NOTES: Partial<Record<ActionName, string>> = {
  CreateEmailTemplate: 'Approved at once (TemplateStatus 0) unless the account requires review. Name: 1–100 characters, no control characters or `< >`. Limits per `SESAME_TEMPLATE_LIMIT` and `SESAME_TEMPLATE_MAX_BYTES`.',
  UpdateEmailTemplate: 'Goes back to pending (1) only when the account requires review.',
  ListEmailTemplates: 'Newest first. `Limit` 0 returns only `TotalCount`.',
  CreateEmailIdentity: 'RSA-2048 by default (`DKIMOption` 1); 0 is RSA-1024, 2 adds an Ed25519 key (RFC 8463). Returns DKIM, SPF, MX and DMARC records (see "Sender domains" below).',
  GetEmailIdentity: 'Looks every record up in DNS now and shows what DNS holds in `CurrentValue`.',
  UpdateEmailIdentity: 'Verifies now; a different `DKIMOption` replaces the keys (the domain must verify again). `NewAPI` changes nothing.',
  ListEmailIdentities: '`TagList` keeps domains carrying every given tag. `DailyQuota` 0 means no limit (`SESAME_DAILY_QUOTA=unlimited`). `SendIp` lists `SESAME_SENDING_IPS`. With `SESAME_DAILY_QUOTA=reputation` `CurrentReputationLevel` and `DailyQuota` move by the rules of Tencent\'s reputation page, checked each minute (see "Reputation" below).',
  DeleteEmailIdentity: 'Refused while the domain has sender addresses.',
  CreateEmailAddress: 'The domain must be a verified domain of the account. Addresses are stored in lower case.',
  UpdateEmailSmtpPassWord: '10–20 printable ASCII characters with a digit, a lower- and an upper-case letter; stored as an scrypt hash only.',
  ListBlackEmailAddress: 'The account\'s own hard bounces (not shared between accounts). `EmailAddress` filters by substring.',
  CreateCustomBlacklist: 'At most 20,000 addresses per call. `RepeatCount` counts repeats within the call and addresses already listed.',
  UpdateCustomBlackList: 'An unknown `Id` answers `InvalidParameterValue`.',
  ListCustomBlacklist: '`Email` filters by substring.',
  CreateAddressUnsubscribeConfig: 'The address must be a sender address of the account (`InvalidParameterValue.NoSuchSender`); a second setting answers `InvalidParameterValue.RepeatCreation`.',
  UpdateAddressUnsubscribeConfig: 'No setting for the address answers `ResourceNotFound`.',
  DeleteAddressUnsubscribeConfig: '`Address` is required here; no setting answers `ResourceNotFound`.',
  ListAddressUnsubscribeConfig: '`Limit` (a string in this action) defaults to 20, at most 100.',
  SendEmail: 'Subject up to 998 characters. `Simple` is allowed unless the account\'s templates need review (per account: `sesame account update --simple on|off|default`; the same setting governs SMTP submission). `HeaderFrom` must be on the sender\'s domain. `SmtpHeaders` takes X- headers and a few threading/list headers only. A recipient who complained (feedback loop) is refused for every sender domain of the account with `FailedOperation.ReceiverHasUnsubscribed`; a domain the reputation rules blocked for the day answers `FailedOperation.TemporaryBlocked`. HTML is tracked (pixel, links) while the account has tracking on. See "Sending" below.',
  CreateReceiver: 'Name 1–200 characters, unique in the account; `Desc` up to 300; at most `SESAME_RECEIVER_LIMIT` groups.',
  CreateReceiverDetail: 'Synchronous: the counts are final when it answers. Repeats (in the call or already in the group) are not added again. Up to `SESAME_RECEIVER_MAX_RECIPIENTS` (1,000,000) addresses per group. See "Recipient groups" below.',
  CreateReceiverDetailWithData: 'As CreateReceiverDetail; an invalid address is kept as invalid (not refused with `ReceiverEmailInvalid`). Data problems refuse the whole call.',
  ListReceiverDetails: '`ValidCount` and `InvalidCount` are the whole group\'s. `CreateTimeBegin`/`End` take a day or a time; an end day includes that day.',
  DeleteReceiver: 'Refused (`OperationDenied.ReceiverIsOperating`) while the group takes an upload or a task that is not over uses it.',
  BatchSendEmail: 'Times in `SESAME_TIMEZONE`. Skipped recipients (blocklisted, unsubscribed) show in GetSendEmailStatus as dropped. Pause, resume and end with the `UpdateSendTask` extension. See "Batch tasks" below.',
  ListSendTasks: '`RequestCount` adds up each run of a recurring task. `Template`, `CycleParam`, `TimedParam` are `null` when not set.',
  GetStatisticsReport: 'Days in `SESAME_TIMEZONE`, both ends included, at most 90. A day counts the mail requested that day, whenever its events came (an open three days later counts on the day it was sent). `OpenedCount`/`ClickedCount` count recipients once, and leave out opens by known image proxies and prefetchers (Apple Mail Privacy Protection, Gmail\'s proxy). `BounceCount` includes bounces reported later by DSN (such a mail leaves `DeliveredCount`). `OverallVolume.SendDate` is empty. Kept for a year.',
  GetAbuseReport: '`StartTime`/`EndTime` take a day or `YYYY-MM-DD hh:mm:ss` in `SESAME_TIMEZONE`; `Limit` 1 to 1000 (default 1000), else `FailedOperation.InvalidLimit`. `ComplainTime`/`InsertTime` are when the report arrived, `AbuseTime` the arrival time the report gives. Complaints are kept as long as statuses.',
  GetSendEmailStatus: '`RequestDate` within `SESAME_STATUS_RETENTION_DAYS` (30); a future date answers `InvalidParameterValue.WrongDate`.',
};

function apiTable(): string {
  // The handlers are factories: building the registry touches no service, so none is needed here.
  const registry = buildRegistry({} as ActionServices);
  const implemented = new Set(registry.implemented());
  const listed = GROUPS.flatMap((g) => g.actions);
  const missing = ACTION_NAMES.filter((a) => !listed.includes(a));
  if (missing.length || listed.length !== ACTION_NAMES.length) throw new Error(`docs groups do not cover every action: ${missing.join(', ')}`);
  const rows = GROUPS.flatMap((g) => g.actions.map((a) => {
    const status = implemented.has(a) ? 'implemented' : `not yet (answers \`UnsupportedOperation\`; ${g.planned})`;
    return `| \`${a}\` | ${g.name} | ${status} | ${cell(NOTES[a] ?? '')} |`;
  }));
  return [
    // The registry also holds Sesame's extensions: count the SES actions only.
    `${ACTION_NAMES.filter((a) => implemented.has(a)).length} of ${ACTION_NAMES.length} actions implemented.`, '',
    '| Action | Group | Status | Deliberate differences from Tencent |', '|---|---|---|---|', ...rows,
  ].join('\n');
}

/** Each generated document and its table. */
export function generatedBlocks(): Record<string, string> {
  return { 'docs/CONFIG.md': configTable(), 'docs/ERRORS.md': errorsTable(), 'docs/API.md': apiTable() };
}

/** The document with its generated block replaced. */
export function withBlock(doc: string, block: string, file: string): string {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${file} lacks the ${START} … ${END} markers`);
  return `${doc.slice(0, a + START.length)}\n${block}\n${doc.slice(b)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, block] of Object.entries(generatedBlocks())) {
    const path = join(ROOT, file);
    writeFileSync(path, withBlock(readFileSync(path, 'utf8'), block, file));
    console.log(`updated ${file}`);
  }
}
