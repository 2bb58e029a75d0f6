/**
 * The one configuration schema: every setting Sesame reads, with its environment name, default and
 * meaning. `docs/CONFIG.md` is generated from this list (`npm run docs`), and `sesame config`
 * prints the effective values with secrets masked.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { ACTION_NAMES } from '../schema/ses.js';
import { parseDuration } from '../domain/duration.js';
import { parseAddressRange } from '../lib/address-allow.js';
import { JOB_NAMES, type JobName } from '../domain/periodic-jobs.js';
import {
  custom, flag, integer, list, numberMap, oneOf, port, SettingValueError, text, textWithDefault, url, urlWithDefault,
} from './settings.js';

const isHostPort = (v: string): boolean => /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(v);
const isTimeZone = (v: string): boolean => {
  try { new Intl.DateTimeFormat('en-US', { timeZone: v }); return true; } catch { return false; }
};
const REGION = /^[a-z]{2,}(-[a-z0-9]+)+$/;
/** An IP address with an optional port, as Node's resolver takes it: 10.0.0.2, 10.0.0.2:53, [::1]:53. */
const isIpPort = (v: string): boolean => isIP(v) !== 0
  || (/^(.+):(\d{1,5})$/.test(v) && isIP(v.replace(/:\d{1,5}$/, '')) === 4)
  || (/^\[(.+)\](:\d{1,5})?$/.test(v) && isIP(v.replace(/^\[(.+)\](:\d{1,5})?$/, '$1')) === 6);
// The lookahead bounds the input at 253 characters before the nested label pattern runs.
const isHostName = (v: string): boolean => /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(v);

/** Daily sending quota policy: Tencent's reputation table, a fixed number, or none. */
export type DailyQuota = { kind: 'reputation' } | { kind: 'fixed'; perDay: number } | { kind: 'unlimited' };

export const SCHEMA = {
  dataDir: textWithDefault('SESAME_DATA_DIR', './data', {
    description: 'Data folder: the SQLite file, the master key file and the generated TLS certificate. Created if missing.',
    allowed: 'a folder path',
    check: (v) => v.trim().length > 0,
  }),
  databaseUrl: url('SESAME_DATABASE_URL', ['postgres', 'postgresql'], {
    description: 'Use this PostgreSQL database instead of the embedded SQLite file. Required to run several processes.',
    secret: true,
  }),
  listenHost: textWithDefault('SESAME_LISTEN_HOST', '127.0.0.1', {
    description: 'Address every listener binds to. Use 0.0.0.0 to accept connections from other machines.',
    allowed: 'an IP address or host name',
    check: isHostPort,
  }),
  httpPort: port('SESAME_HTTP_PORT', 8080, { description: 'HTTP port: the API at /, the console at /console, tracking links, /healthz, /readyz, /metrics. A process without the api role serves only the last three on it.' }),
  httpMaxConnectionsPerIp: integer('SESAME_HTTP_MAX_CONNECTIONS_PER_IP', 256, {
    description: 'HTTP connections open at once from one client address (an IPv6 client is its /64); beyond, a request is refused (RequestLimitExceeded.IPLimitExceeded at /, 503 elsewhere) and its connection closed. Behind a reverse proxy every client has the proxy\'s address: raise this to what the proxy may open.',
    min: 1,
  }),
  httpPreauthBytesPerIp: integer('SESAME_HTTP_PREAUTH_BYTES_PER_IP', 33554432, {
    description: 'Bytes of request bodies (of either signature method) one client address may have in flight before their signatures are checked (RequestLimitExceeded.IPLimitExceeded beyond): three of the largest TC3 bodies (10 MB) at once by default. Behind a reverse proxy this is shared by every client: raise it with the connection limit.',
    min: 10485760,
  }),
  httpBodyIdleSeconds: integer('SESAME_HTTP_BODY_IDLE_SECONDS', 10, {
    description: 'A request body that stops arriving for this long has its connection closed (and the memory it held released).',
    min: 1,
  }),
  httpRequestTimeoutSeconds: integer('SESAME_HTTP_REQUEST_TIMEOUT_SECONDS', 60, {
    description: 'Longest time to receive a whole HTTP request, headers and body (headers alone: 20 s). A 10 MB TC3 body needs about 170 KB/s to arrive in 60 s.',
    min: 20,
  }),
  smtpPort: port('SESAME_SMTP_PORT', 2587, { description: 'SMTP submission port, plain with STARTTLS.' }),
  smtpsPort: port('SESAME_SMTPS_PORT', 2465, { description: 'SMTP submission port with TLS from the first byte (like Tencent\'s 465).' }),
  mxPort: port('SESAME_MX_PORT', 2525, { description: 'Inbound SMTP port (smtp role), where the bounce domains\' MX points: later bounces (DSN), complaints (ARF, to fbl@ or abuse@) and unsubscribe requests by mail.' }),
  publicUrl: urlWithDefault('SESAME_PUBLIC_URL', ['http', 'https'], 'http://localhost:8080', {
    description: 'Public base URL of the HTTP port, used for links in mail (unsubscribe, tracking).',
  }),
  dnsServers: list('SESAME_DNS_SERVERS', [], {
    description: 'DNS servers for MX lookups and domain verification. Empty: the system resolver.',
    item: 'IP addresses with an optional port (10.0.0.2, 10.0.0.2:5353, [::1]:53)',
    check: isIpPort,
  }),
  dnsRecheckMinutes: integer('SESAME_DNS_RECHECK_MINUTES', 60, {
    description: 'How often the worker re-checks every sender domain\'s DNS records: a verified domain whose DKIM or SPF record is gone stops sending; a pending one that now matches starts.',
    min: 1,
  }),
  dkimSelector: textWithDefault('SESAME_DKIM_SELECTOR', 'sesame', {
    description: 'DKIM selector of new domains: the key is published at <selector>._domainkey.<domain> (the Ed25519 key of a dual-signature domain at <selector>-ed25519._domainkey.<domain>).',
    allowed: 'a DNS label: letters, digits and hyphens',
    check: (v) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,40}[A-Za-z0-9])?$/.test(v),
  }),
  spfInclude: text('SESAME_SPF_INCLUDE', undefined, {
    description: 'Domain whose SPF policy sender domains include (v=spf1 include:<this> ~all). Unset: the SPF record names SESAME_SENDING_IPS, or else a:<SESAME_HOSTNAME>.',
    allowed: 'a domain name',
    check: isHostName,
  }),
  sendingIps: list('SESAME_SENDING_IPS', [], {
    description: 'IP addresses mail leaves from: named in the SPF record (ip4:/ip6:) and shown as SendIp.',
    item: 'IP addresses',
    check: (v) => isIP(v) !== 0,
  }),
  mxHost: text('SESAME_MX_HOST', undefined, {
    description: 'Host name of the inbound server for bounces and complaints, published as the MX record of each sender domain\'s bounce domain. Unset: SESAME_HOSTNAME.',
    allowed: 'a host name',
    check: isHostName,
  }),
  bounceSubdomain: text('SESAME_BOUNCE_SUBDOMAIN', undefined, {
    description: 'Label of the bounce domain under each sender domain (bounce → bounce.<domain>), which carries the MX and SPF records and the envelope sender. Unset: the sender domain itself, as at Tencent.',
    allowed: 'a DNS label',
    check: (v) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(v),
  }),
  domainLimit: integer('SESAME_DOMAIN_LIMIT', 10, { description: 'Sender domains per account (OperationDenied.ExceedDomainLimit beyond).', min: 1 }),
  senderLimit: integer('SESAME_SENDER_LIMIT', 10, { description: 'Sender addresses per domain (OperationDenied.ExceedSenderLimit beyond).', min: 1 }),
  reputationLevel: integer('SESAME_REPUTATION_LEVEL', 1, {
    description: 'Reputation level of a new sender domain (1–20, Tencent\'s table: level 1 sends 500 a day, level 20 a million).',
    min: 1,
    max: 20,
  }),
  blocklistDays: integer('SESAME_BLOCKLIST_DAYS', 14, {
    description: 'Days an address stays on the bounce blocklist after a hard bounce.',
    min: 1,
  }),
  outboundPort: port('SESAME_OUTBOUND_PORT', 25, { description: 'Port used to reach remote MX hosts.' }),
  relayUrl: url('SESAME_RELAY_URL', ['smtp', 'smtps'], {
    description: 'Send everything through this relay (smtp://user:pass@host:port) when SESAME_DELIVERY is relay.',
    secret: true,
  }),
  allowPrivateNetworks: flag('SESAME_ALLOW_PRIVATE_NETWORKS', false, {
    description: 'Let Sesame connect to private, loopback, link-local and other special-purpose addresses (10.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, fc00::/7, ::ffff:127.0.0.1 and the like) when a recipient domain\'s MX or address records name them; webhooks will follow the same rule. Off, such mail is dropped (DeliverStatus 2), so a tenant cannot use Sesame to probe the operator\'s internal network. SESAME_RELAY_URL is never filtered. Turn it on only for tests, or when every tenant is trusted.',
  }),
  delivery: oneOf('SESAME_DELIVERY', ['mx', 'relay', 'capture'] as const, 'mx', {
    description: 'Delivery mode: mx looks up the recipient\'s MX, relay uses SESAME_RELAY_URL, capture keeps mail in the store without sending.',
  }),
  secretId: text('SESAME_SECRET_ID', undefined, {
    description: 'SecretId of the first account, created at the first start on an empty store. Unset: one is generated and printed once.',
    allowed: 'AKID followed by 32 letters or digits',
    check: (v) => /^AKID[A-Za-z0-9]{32}$/.test(v),
  }),
  secretKey: text('SESAME_SECRET_KEY', undefined, {
    description: 'SecretKey of the first account (with SESAME_SECRET_ID).',
    allowed: '32 letters or digits',
    check: (v) => /^[A-Za-z0-9]{32}$/.test(v),
    secret: true,
  }),
  masterKey: text('SESAME_MASTER_KEY', undefined, {
    description: 'Master key that encrypts SecretKeys and DKIM private keys in the store. Unset: kept in <data dir>/master.key, created at first start. Set it (the same on every machine) when several machines share one PostgreSQL.',
    allowed: '64 hexadecimal digits (32 bytes)',
    check: (v) => /^[0-9a-fA-F]{64}$/.test(v),
    secret: true,
  }),
  hostname: textWithDefault('SESAME_HOSTNAME', hostname(), {
    description: 'Host name used in EHLO, Message-IDs and the self-signed certificate.',
    allowed: 'a host name',
    check: isHostName,
  }),
  regions: list('SESAME_REGIONS', ['ap-singapore', 'ap-hongkong', 'ap-guangzhou'], {
    description: 'Regions the API accepts in X-TC-Region / Region; others answer UnsupportedRegion.',
    item: 'region names like ap-singapore',
    check: (v) => REGION.test(v),
  }),
  apiRateLimit: integer('SESAME_API_RATE_LIMIT', 20, {
    description: 'API requests per second, per account and action (0: no limit). An account can carry its own limit (sesame account create --rate-limit).',
  }),
  apiRateLimits: numberMap('SESAME_API_RATE_LIMITS', {
    description: 'Per-action overrides of SESAME_API_RATE_LIMIT, e.g. SendEmail=100,ListEmailTemplates=50.',
    key: 'action',
    checkKey: (k) => (ACTION_NAMES as readonly string[]).includes(k),
  }),
  deliveryConcurrency: integer('SESAME_DELIVERY_CONCURRENCY', 200, {
    description: 'Deliveries a worker has in flight at most (rendering, signing, sending); one recipient domain gets a quarter of them at most (or twice SESAME_CONNECTIONS_PER_HOST, if more).',
    min: 1,
  }),
  connectionsPerHost: integer('SESAME_CONNECTIONS_PER_HOST', 10, {
    description: 'SMTP connections a worker keeps open to one remote address at most.',
    min: 1,
  }),
  messagesPerConnection: integer('SESAME_MESSAGES_PER_CONNECTION', 200, {
    description: 'Messages sent over one SMTP connection before it is closed and a fresh one opened.',
    min: 1,
  }),
  renderThreads: custom<number>('SESAME_RENDER_THREADS', 'auto', {
    description: 'Worker threads that compose and DKIM-sign outgoing mail: auto (one per core, at least two), or a number (0: on the main thread).',
    allowed: 'auto, or an integer from 0 to 64',
    parse: (raw) => {
      if (raw === 'auto') return -1;
      if (/^\d{1,2}$/.test(raw) && Number(raw) <= 64) return Number(raw);
      throw new SettingValueError('not allowed');
    },
  }),
  deliveryLeaseSeconds: integer('SESAME_DELIVERY_LEASE_SECONDS', 60, {
    description: 'A worker\'s claim on a delivery or a batch task, renewed while it works; if the worker dies, another takes it over after this long.',
    min: 3,
  }),
  periodicJobs: custom<Readonly<Record<JobName, number>>>('SESAME_PERIODIC_JOBS', 'dns-recheck=30s,retention=10m,reputation=1m', {
    description: 'How often each periodic job of the worker role runs: a round is due this long after the last one ended, and one worker of all those sharing the store runs it (under the job\'s lease). dns-recheck looks for domains due under SESAME_DNS_RECHECK_MINUTES; reputation runs only with SESAME_DAILY_QUOTA=reputation. Jobs left out keep their default.',
    allowed: 'comma-separated job=duration pairs, jobs among dns-recheck, retention, reputation (durations such as 500ms, 30s, 10m)',
    parse: (raw) => {
      const every: Record<JobName, number> = { 'dns-recheck': 30_000, retention: 600_000, reputation: 60_000 };
      for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
        const [job, duration, ...rest] = part.split('=').map((p) => p.trim());
        if (!(JOB_NAMES as readonly string[]).includes(job)) throw new SettingValueError(`"${job}" is not a periodic job`);
        const ms = rest.length === 0 && duration !== undefined ? parseDuration(duration) : null;
        if (ms === null) throw new SettingValueError(`"${part}" is not job=duration`);
        every[job as JobName] = ms;
      }
      return every;
    },
  }),
  periodicJobLease: custom<number>('SESAME_PERIODIC_JOB_LEASE', '1m', {
    description: 'A worker\'s lease on a periodic job\'s round, renewed every third of it while the round runs; if the worker dies mid-round, the job waits this long at most before another worker takes it.',
    allowed: 'a duration of at least 1s, such as 30s or 2m',
    parse: (raw) => {
      const ms = parseDuration(raw);
      if (ms === null || ms < 1000) throw new SettingValueError('not a duration of at least 1s');
      return ms;
    },
  }),
  outboundTls: oneOf('SESAME_OUTBOUND_TLS', ['opportunistic', 'required', 'none'] as const, 'opportunistic', {
    description: 'STARTTLS to remote hosts: used whenever offered (certificates not checked), required (checked; hosts without it are retried, then dropped), or never. A relay with credentials always gets required (checked against its host name) unless this is none.',
  }),
  outboundTlsCa: text('SESAME_OUTBOUND_TLS_CA', undefined, {
    description: 'PEM file of certificate authorities trusted, besides the system\'s, when checking the certificate of the relay or of MX hosts (e.g. a company relay with its own CA).',
    allowed: 'a file path',
  }),
  retryMinutes: list('SESAME_RETRY_MINUTES', ['1', '5', '15', '30', '60'], {
    description: 'Minutes to wait after each failed delivery attempt; the last value repeats until SESAME_MAX_QUEUE_HOURS.',
    item: 'whole numbers of minutes (1 or more)',
    check: (v) => /^\d{1,5}$/.test(v) && Number(v) >= 1,
  }),
  maxQueueHours: integer('SESAME_MAX_QUEUE_HOURS', 72, {
    description: 'A delivery still deferred this long after acceptance is dropped (DeliverStatus 2).',
    min: 1,
  }),
  statusRetentionDays: integer('SESAME_STATUS_RETENTION_DAYS', 30, {
    description: 'Days statuses are kept: GetSendEmailStatus looks back this far (FailedOperation.NotSupportDate before that), and the worker deletes older statuses, the messages left without one, daily send counters as old, and custom blocklist entries expired this long. Unsubscriptions are never deleted.',
    min: 1,
  }),
  smtpRateLimit: integer('SESAME_SMTP_RATE_LIMIT', 20, { description: 'SMTP messages per second, per account (0: no limit).' }),
  smtpMaxMessageBytes: integer('SESAME_SMTP_MAX_MESSAGE_BYTES', 10485760, {
    description: 'Largest message SMTP submission accepts, in bytes (advertised with SIZE; 552 5.3.4 beyond).',
    min: 1024,
  }),
  smtpMaxRecipients: integer('SESAME_SMTP_MAX_RECIPIENTS', 50, { description: 'Recipients of one message submitted over SMTP (452 4.5.3 beyond).', min: 1 }),
  smtpMaxLineLength: integer('SESAME_SMTP_MAX_LINE_LENGTH', 998, {
    description: 'Longest line of a submitted message, CRLF not counted (RFC 5322 says 998; 554 5.6.0 beyond).',
    min: 78,
  }),
  smtpMaxConnectionsPerIp: integer('SESAME_SMTP_MAX_CONNECTIONS_PER_IP', 50, {
    description: 'SMTP submission connections open at once from one client address (an IPv6 client is its /64; 421 4.7.0 beyond).',
    min: 1,
  }),
  smtpIdleSeconds: integer('SESAME_SMTP_IDLE_SECONDS', 300, { description: 'SMTP submission: seconds of client silence before the connection is closed.', min: 1 }),
  smtpSessionSeconds: integer('SESAME_SMTP_SESSION_SECONDS', 3600, { description: 'SMTP submission: longest session, whatever the client does (421 4.4.2, then closed).', min: 1 }),
  smtpAuthMaxFailures: integer('SESAME_SMTP_AUTH_MAX_FAILURES', 10, {
    description: 'Failed SMTP logins (wrong password or unknown user) from one client network (the /24 of an IPv4 address, the /48 of an IPv6 one), or for one login from that network, after which that network (421, disconnected), or that login from it (454), is refused until the lockout has passed; each failure also slows the network\'s next answer. Failures from one network never refuse a login to another.',
    min: 1,
  }),
  smtpAuthLockoutMinutes: integer('SESAME_SMTP_AUTH_LOCKOUT_MINUTES', 15, {
    description: 'How long failed SMTP logins are remembered, and a lockout lasts, after the last failure of that network (or of that login from it).',
    min: 1,
  }),
  dailyQuota: custom<DailyQuota>('SESAME_DAILY_QUOTA', 'reputation', {
    description: 'Daily sending quota per sender domain: reputation (Tencent\'s level table), a number, or unlimited.',
    allowed: 'reputation, unlimited, or an integer ≥ 1',
    parse: (raw) => {
      if (raw === 'reputation') return { kind: 'reputation' };
      if (raw === 'unlimited') return { kind: 'unlimited' };
      if (/^\d+$/.test(raw) && Number(raw) >= 1 && Number.isSafeInteger(Number(raw))) return { kind: 'fixed', perDay: Number(raw) };
      throw new SettingValueError('not allowed');
    },
  }),
  webhookRetrySchedule: custom<readonly number[]>('SESAME_WEBHOOK_RETRY_SCHEDULE', '5s,5m,30m,2h,5h,10h,10h', {
    description: 'Delays before each retry of a webhook request that failed (not 2xx within 15 s); after the last one the event is given up. About 27 hours in all by default.',
    allowed: 'comma-separated durations such as 5s, 30m, 2h, 1d (at least one)',
    parse: (raw) => {
      const ms = raw.split(',').map((p) => parseDuration(p));
      if (ms.length === 0 || ms.some((x) => x === null)) throw new SettingValueError('not a list of durations');
      return ms as number[];
    },
  }),
  webhookDisableAfter: custom<number>('SESAME_WEBHOOK_DISABLE_AFTER', '5d', {
    description: 'A callback endpoint whose every request has failed for this long is disabled (Status 0 in ListEmailCallbacks); setting its URL again enables it.',
    allowed: 'a duration such as 12h or 5d',
    parse: (raw) => {
      const ms = parseDuration(raw);
      if (ms === null) throw new SettingValueError('not a duration');
      return ms;
    },
  }),
  consoleSessionHours: integer('SESAME_CONSOLE_SESSION_HOURS', 12, {
    description: 'How long a console sign-in lasts; signing out ends it sooner, and so does revoking the API key it signed in with.',
    min: 1,
    max: 24 * 30,
  }),
  frequencyLimit: integer('SESAME_FREQUENCY_LIMIT', 10, { description: 'Mails per hour from one sender to one recipient (0: no limit).' }),
  tlsCert: text('SESAME_TLS_CERT', undefined, { description: 'PEM certificate file for SMTP TLS. Unset: a self-signed certificate is generated in the data folder.', allowed: 'a file path' }),
  tlsKey: text('SESAME_TLS_KEY', undefined, { description: 'PEM private key file for SESAME_TLS_CERT.', allowed: 'a file path' }),
  timezone: textWithDefault('SESAME_TIMEZONE', 'UTC', {
    description: 'Time zone of the API\'s YYYY-MM-DD hh:mm:ss strings (IANA name).',
    allowed: 'an IANA time zone name such as UTC or Asia/Singapore',
    check: isTimeZone,
  }),
  templateLimit: integer('SESAME_TEMPLATE_LIMIT', 1000, { description: 'Templates per account (FailedOperation.ExceedTemplateLimit beyond).', min: 1 }),
  taskMaxPending: integer('SESAME_TASK_MAX_PENDING', 5000, {
    description: 'Messages one batch task may have queued and not yet tried; it queues more as they go (back-pressure, so a large group never floods the queue; mail a domain defers does not count).',
    min: 10,
  }),
  receiverLimit: integer('SESAME_RECEIVER_LIMIT', 1000, { description: 'Recipient groups per account (LimitExceeded.ExceedReceiverLimit beyond).', min: 1 }),
  receiverMaxRecipients: integer('SESAME_RECEIVER_MAX_RECIPIENTS', 1000000, {
    description: 'Addresses one recipient group may hold, valid and invalid (LimitExceeded.ReceiverDetailCountLimit beyond).',
    min: 1,
  }),
  templateMaxBytes: integer('SESAME_TEMPLATE_MAX_BYTES', 1048576, {
    description: 'Largest template, HTML plus text after base64 decoding, in bytes (FailedOperation.TemplateContentToolarge beyond).',
    min: 1,
  }),
  templateReview: flag('SESAME_TEMPLATE_REVIEW', false, {
    description: 'Whether new accounts need an operator to approve their templates (sesame template approve/reject). Each account can be changed later.',
  }),
  tracking: oneOf('SESAME_TRACKING', ['on', 'off'] as const, 'on', {
    description: 'Open and click tracking for new accounts: an open pixel and rewritten links in HTML mail (text parts and SMTP-submitted messages are left as they are). Each account can be changed later (sesame account update --tracking on|off).',
  }),
  logLevel: oneOf('SESAME_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info', {
    description: 'Lowest level of the structured (JSON) log written to standard output.',
  }),
  logFormat: oneOf('SESAME_LOG_FORMAT', ['auto', 'json', 'pretty'] as const, 'auto', {
    description: 'Form of the log on standard output: JSON lines (json), a line for people to read (pretty), or pretty when standard output is a terminal and JSON otherwise (auto).',
  }),
  drainSeconds: custom('SESAME_DRAIN_SECONDS', '30', {
    description: 'On SIGTERM/SIGINT, how long the process may take to drain: it stops accepting at once, lets work in flight finish within this time, gives back what is left, and exits before it has passed.',
    allowed: 'a number of seconds ≥ 0 (decimals allowed)',
    parse: (raw) => {
      const t = raw.trim();
      if (!/^\d+(\.\d+)?$/.test(t)) throw new SettingValueError('not a number of seconds');
      return Number(t);
    },
  }),
  metrics: oneOf('SESAME_METRICS', ['on', 'off'] as const, 'on', {
    description: 'Whether the HTTP listener serves Prometheus metrics at GET /metrics (only to SESAME_METRICS_ALLOW addresses).',
  }),
  metricsAllow: list('SESAME_METRICS_ALLOW', ['127.0.0.0/8', '::1'], {
    description: 'Client addresses that may read /metrics: addresses or CIDR ranges, IPv4 or IPv6. A request relayed by a proxy (with Forwarded or X-Forwarded-For) is refused whatever its address.',
    item: 'IP addresses or CIDR ranges',
    check: (v) => parseAddressRange(v) !== null,
  }),
  allowWeakDurability: flag('SESAME_ALLOW_WEAK_DURABILITY', false, {
    description: 'Start even when PostgreSQL runs with fsync or synchronous_commit off (acknowledged writes could be lost in a crash). Never set it in production.',
  }),
} as const;

type Schema = typeof SCHEMA;
/** The effective configuration: one typed value per setting. */
export type Config = { readonly [K in keyof Schema]: Schema[K]['defaultValue'] };
