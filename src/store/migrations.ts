/**
 * The schema, as numbered migrations applied in order at start. Each migration runs in its own
 * transaction together with the row that records it, so a crash leaves it either applied or not.
 * Every table holding a tenant's data carries `account_id`. Times are UTC milliseconds.
 */
import type { Db, Dialect } from './db.js';

/** One step of the schema. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  up(d: Dialect): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, API keys and templates',
    up: (d) => [
      `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
      `CREATE TABLE accounts (
        id ${d.idColumn},
        app_id ${d.bigint} NOT NULL UNIQUE,
        name TEXT NOT NULL,
        template_review INTEGER NOT NULL DEFAULT 0,
        api_rate_limit INTEGER,
        created_at ${d.bigint} NOT NULL
      )`,
      `CREATE TABLE api_keys (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        secret_id TEXT NOT NULL UNIQUE,
        secret_key_sealed TEXT NOT NULL,
        created_at ${d.bigint} NOT NULL
      )`,
      `CREATE INDEX api_keys_account ON api_keys (account_id)`,
      `CREATE TABLE templates (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        html TEXT,
        text TEXT,
        variables TEXT NOT NULL,
        status INTEGER NOT NULL,
        review_reason TEXT NOT NULL DEFAULT '',
        created_at ${d.bigint} NOT NULL,
        updated_at ${d.bigint} NOT NULL
      )`,
      `CREATE INDEX templates_account ON templates (account_id, id)`,
    ],
  },
  {
    version: 2,
    name: 'sender domains, sender addresses, blocklists, unsubscribe settings',
    up: (d) => [
      // Kept by the template store in the same transactions as the templates (limits and totals
      // cost one row read); counted here for databases that already hold templates.
      'ALTER TABLE accounts ADD COLUMN template_count INTEGER NOT NULL DEFAULT 0',
      'UPDATE accounts SET template_count = (SELECT COUNT(*) FROM templates t WHERE t.account_id = accounts.id)',
      // A domain belongs to one account: the name is unique across accounts (CreatedByOther).
      // Migration 7 replaces this: one claim per account, at most one verified.
      `CREATE TABLE domains (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL UNIQUE,
        dkim_option INTEGER NOT NULL,
        selector TEXT NOT NULL,
        dkim_keys TEXT NOT NULL,
        tags TEXT NOT NULL,
        reputation_level INTEGER NOT NULL,
        verified INTEGER NOT NULL DEFAULT 0,
        verified_at ${d.bigint},
        checked_at ${d.bigint},
        next_check_at ${d.bigint} NOT NULL,
        created_at ${d.bigint} NOT NULL
      )`,
      `CREATE INDEX domains_account ON domains (account_id, id)`,
      `CREATE INDEX domains_next_check ON domains (next_check_at)`,
      // An address is unique across accounts: it is the SMTP user name.
      `CREATE TABLE sender_addresses (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        domain_id ${d.bigint} NOT NULL REFERENCES domains(id),
        address TEXT NOT NULL UNIQUE,
        sender_name TEXT NOT NULL DEFAULT '',
        smtp_password_hash TEXT,
        created_at ${d.bigint} NOT NULL
      )`,
      `CREATE INDEX sender_addresses_account ON sender_addresses (account_id, id)`,
      `CREATE INDEX sender_addresses_domain ON sender_addresses (domain_id)`,
      `CREATE TABLE unsubscribe_settings (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        address TEXT NOT NULL,
        language TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        created_at ${d.bigint} NOT NULL,
        updated_at ${d.bigint} NOT NULL,
        UNIQUE (account_id, address)
      )`,
      `CREATE TABLE bounce_blocklist (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        email TEXT NOT NULL,
        reason TEXT NOT NULL,
        bounced_at ${d.bigint} NOT NULL,
        expires_at ${d.bigint} NOT NULL,
        UNIQUE (account_id, email)
      )`,
      `CREATE INDEX bounce_blocklist_time ON bounce_blocklist (account_id, bounced_at)`,
      `CREATE TABLE custom_blocklist (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        email TEXT NOT NULL,
        expire_date TEXT,
        created_at ${d.bigint} NOT NULL,
        UNIQUE (account_id, email)
      )`,
    ],
  },
  {
    version: 3,
    name: 'messages, deliveries and their queue, send counters, unsubscriptions',
    up: (d) => [
      // What was accepted, as accepted: the composition input, so delivery renders exactly this.
      `CREATE TABLE messages (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        message_id TEXT NOT NULL UNIQUE,
        domain_id ${d.bigint} NOT NULL,
        sender TEXT NOT NULL,
        content TEXT NOT NULL,
        created_at ${d.bigint} NOT NULL
      )`,
      `CREATE INDEX messages_account ON messages (account_id, created_at)`,
      // One row per recipient: its status, and its place in the delivery queue (next_attempt_at set
      // while it waits; a claim pushes it ahead by the lease, so a crashed worker's rows come back).
      `CREATE TABLE deliveries (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        message_row ${d.bigint} NOT NULL REFERENCES messages(id),
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        recipient_domain TEXT NOT NULL,
        send_status INTEGER NOT NULL DEFAULT 0,
        deliver_status INTEGER NOT NULL DEFAULT 0,
        deliver_message TEXT NOT NULL DEFAULT '',
        deliver_time ${d.bigint},
        attempts INTEGER NOT NULL DEFAULT 0,
        priority INTEGER NOT NULL DEFAULT 0,
        next_attempt_at ${d.bigint},
        opened INTEGER NOT NULL DEFAULT 0,
        clicked INTEGER NOT NULL DEFAULT 0,
        unsubscribed INTEGER NOT NULL DEFAULT 0,
        complained INTEGER NOT NULL DEFAULT 0,
        created_at ${d.bigint} NOT NULL
      )`,
      // Triggered mail (TriggerType 1: codes, receipts) goes ahead of bulk mail that is also due.
      `CREATE INDEX deliveries_queue ON deliveries (priority DESC, next_attempt_at) WHERE next_attempt_at IS NOT NULL`,
      `CREATE INDEX deliveries_message ON deliveries (message_row)`,
      `CREATE INDEX deliveries_account_time ON deliveries (account_id, created_at)`,
      `CREATE INDEX deliveries_frequency ON deliveries (account_id, sender, recipient, created_at)`,
      // Mails counted against a domain's daily quota, per day in SESAME_TIMEZONE.
      `CREATE TABLE send_counts (
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        domain_id ${d.bigint} NOT NULL,
        day TEXT NOT NULL,
        sent INTEGER NOT NULL,
        PRIMARY KEY (domain_id, day)
      )`,
      // A recipient who unsubscribed from a sender domain of an account.
      `CREATE TABLE unsubscriptions (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        domain TEXT NOT NULL,
        email TEXT NOT NULL,
        created_at ${d.bigint} NOT NULL,
        UNIQUE (account_id, domain, email)
      )`,
      `ALTER TABLE accounts ADD COLUMN simple_allowed INTEGER NOT NULL DEFAULT 1`,
    ],
  },
  {
    version: 4,
    name: 'delivery lease owners',
    // The token of the worker holding a delivery's lease: renewals and outcomes are conditional on
    // it, so a worker whose lease lapsed cannot extend or overwrite another worker's claim.
    up: (d) => [`ALTER TABLE deliveries ADD COLUMN lease_owner ${d.bigint}`],
  },
  {
    version: 5,
    name: 'recipient groups',
    up: (d) => [
      // status: 1 empty, 2 uploading (until upload_until: a crashed upload does not hold it for
      // ever), 3 uploaded. data_keys: the sorted variable names every recipient's data must have
      // (JSON), set by the first upload. count and invalid_count: kept with the rows.
      `CREATE TABLE receivers (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        status INTEGER NOT NULL DEFAULT 1,
        upload_until ${d.bigint},
        data_keys TEXT,
        count INTEGER NOT NULL DEFAULT 0,
        invalid_count INTEGER NOT NULL DEFAULT 0,
        created_at ${d.bigint} NOT NULL,
        UNIQUE (account_id, name)
      )`,
      `CREATE INDEX receivers_account ON receivers (account_id, id)`,
      // One row per address of a group; status 1 valid, 2 invalid (with its reason).
      `CREATE TABLE receiver_details (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        receiver_id ${d.bigint} NOT NULL REFERENCES receivers(id),
        email TEXT NOT NULL,
        template_data TEXT,
        status INTEGER NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        created_at ${d.bigint} NOT NULL,
        UNIQUE (receiver_id, email)
      )`,
      `CREATE INDEX receiver_details_group ON receiver_details (receiver_id, id)`,
    ],
  },
  {
    version: 6,
    name: 'batch tasks',
    up: (d) => [
      // A task, its schedule, and the state of its current run: the run's message, how far its
      // expansion has gone through the group (cursor, a receiver_details id) and where it ends
      // (run_end: the group as it was when the run began). next_run_at is when a runner should next
      // look at it (null: never again); lease_owner/lease_until say which runner holds it.
      `CREATE TABLE send_tasks (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        receiver_id ${d.bigint} NOT NULL,
        receivers_name TEXT NOT NULL,
        from_address TEXT NOT NULL,
        subject TEXT NOT NULL,
        task_type INTEGER NOT NULL,
        status INTEGER NOT NULL,
        content TEXT NOT NULL,
        template_id ${d.bigint},
        template_data TEXT,
        begin_at ${d.bigint},
        interval_hours INTEGER,
        term_cycle INTEGER NOT NULL DEFAULT 0,
        next_run_at ${d.bigint},
        run_message_row ${d.bigint},
        run_cursor ${d.bigint} NOT NULL DEFAULT 0,
        run_end ${d.bigint} NOT NULL DEFAULT 0,
        runs INTEGER NOT NULL DEFAULT 0,
        request_count INTEGER NOT NULL DEFAULT 0,
        send_count INTEGER NOT NULL DEFAULT 0,
        cache_count INTEGER NOT NULL DEFAULT 0,
        skip_count INTEGER NOT NULL DEFAULT 0,
        err_msg TEXT NOT NULL DEFAULT '',
        lease_owner ${d.bigint},
        lease_until ${d.bigint},
        created_at ${d.bigint} NOT NULL,
        updated_at ${d.bigint} NOT NULL
      )`,
      `CREATE INDEX send_tasks_account ON send_tasks (account_id, id)`,
      `CREATE INDEX send_tasks_due ON send_tasks (next_run_at) WHERE next_run_at IS NOT NULL`,
      // A batch delivery names its task (for the task's back-pressure) and carries its recipient's
      // template data (the group may change or go; the mail accepted stays as accepted).
      `ALTER TABLE deliveries ADD COLUMN task_id ${d.bigint}`,
      `ALTER TABLE deliveries ADD COLUMN template_data TEXT`,
      `CREATE INDEX deliveries_task_pending ON deliveries (task_id, attempts) WHERE task_id IS NOT NULL AND next_attempt_at IS NOT NULL`,
    ],
  },
  {
    version: 7,
    name: 'a domain name is held by the account that verifies it; accounts can be disabled',
    up: (d) => [
      // A name unique across accounts let any account claim a domain it never verified and lock
      // its owner out (CreatedByOther for ever). Now each account may claim a name once, and only
      // one account at a time may hold it verified: the one whose DKIM key is in the name's DNS.
      ...dropDomainNameUnique(d),
      'CREATE UNIQUE INDEX domains_name_account ON domains (name, account_id)',
      'CREATE UNIQUE INDEX domains_verified_name ON domains (name) WHERE verified = 1',
      // Set while an operator has suspended the account (`sesame account disable`).
      `ALTER TABLE accounts ADD COLUMN disabled_at ${d.bigint}`,
    ],
  },
  {
    version: 8,
    name: 'retention: freeing delivered content, deleting old rows',
    // What the retention job (store/retention.ts) and the freeing of content (store/queue.ts) look
    // rows up by. The old rows themselves (deliveries, messages) are found by primary-key ranges,
    // oldest first (ids grow with created_at), so the hot tables get no index for them.
    up: () => [
      // "Is a delivery of this message still queued?" is asked when each outcome is recorded. On
      // (message_row) alone it visits the message's final deliveries one by one before the first
      // queued one: nothing for SendEmail's few recipients, a million rows for a batch run's message.
      // With next_attempt_at in the key it is one seek. This replaces the old index, so an insert
      // costs the same; claims and outcomes (which change next_attempt_at) now also move this
      // entry: nothing more on PostgreSQL, where next_attempt_at is indexed already and such an
      // update rewrites every index entry anyway; one entry more per claim and outcome on SQLite.
      'DROP INDEX deliveries_message',
      'CREATE INDEX deliveries_message ON deliveries (message_row, next_attempt_at)',
      // Messages whose content is still kept: the job's sweep finds those nothing will render any
      // more (all recipients dropped at acceptance, a batch run ended after its last delivery, two
      // last outcomes committed at once on PostgreSQL) without reading every message. The literal
      // '' is the freed marker (FREED_CONTENT); queries must spell the predicate the same way.
      `CREATE INDEX messages_content_kept ON messages (id) WHERE content <> ''`,
      // Is this message a batch run's in progress (its content must stay)? Few rows, rare writes.
      'CREATE INDEX send_tasks_run_message ON send_tasks (run_message_row) WHERE run_message_row IS NOT NULL',
      // Expired rows of the blocklists and old day counters, oldest first. These tables are written
      // once per hard bounce, per API call and per domain and day: the indexes cost next to nothing.
      'CREATE INDEX bounce_blocklist_expiry ON bounce_blocklist (expires_at)',
      'CREATE INDEX custom_blocklist_expiry ON custom_blocklist (expire_date) WHERE expire_date IS NOT NULL',
      'CREATE INDEX send_counts_day ON send_counts (day)',
    ],
  },
  {
    version: 9,
    name: 'free content follows the account\'s content controls',
    up: () => [
      // Whether the account may send content of its own (Simple, or whole messages over SMTP): 1
      // yes, 0 no, NULL (the default) "unless its templates need review". Replaces simple_allowed,
      // whose default (1) could not tell "allowed on purpose" from "never set".
      'ALTER TABLE accounts ADD COLUMN free_content INTEGER',
      'UPDATE accounts SET free_content = 0 WHERE simple_allowed = 0',
      'ALTER TABLE accounts DROP COLUMN simple_allowed',
    ],
  },
  {
    version: 10,
    name: 'events, daily volumes, tracking and reputation',
    up: (d) => [
      // What every event of a message shares, kept once on the message: the subject (as accepted:
      // a batch run's with its {{variables}}), and the template it came from.
      "ALTER TABLE messages ADD COLUMN subject TEXT NOT NULL DEFAULT ''",
      `ALTER TABLE messages ADD COLUMN template_id ${d.bigint}`,
      // Its Message-ID header (a batch run's: each recipient's is derived from it), by which a
      // complaint that lost the envelope sender finds the mail it is about.
      'ALTER TABLE messages ADD COLUMN header_id TEXT',
      'CREATE INDEX messages_header_id ON messages (header_id)',
      // One row per thing that happened to a delivery (FACTS §5 event ids), written in the
      // transaction that changes the delivery. What the delivery and its message say (recipient,
      // sender, MessageId, task, template, subject) is read from them, not copied here.
      `CREATE TABLE events (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL,
        delivery_id ${d.bigint} NOT NULL,
        event INTEGER NOT NULL,
        bounce_type TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT '',
        user_agent TEXT NOT NULL DEFAULT '',
        link TEXT NOT NULL DEFAULT '',
        prefetch TEXT NOT NULL DEFAULT '',
        source_ip TEXT NOT NULL DEFAULT '',
        reported_at ${d.bigint},
        created_at ${d.bigint} NOT NULL
      )`,
      'CREATE INDEX events_delivery ON events (delivery_id)',
      'CREATE INDEX events_account ON events (account_id, event, created_at)',
      // The counters of GetStatisticsReport and of reputation, per account, day (of the request, in
      // SESAME_TIMEZONE), sender domain and recipient domain: moved by each event as it is written,
      // never counted from the deliveries.
      `CREATE TABLE daily_volumes (
        account_id ${d.bigint} NOT NULL,
        day TEXT NOT NULL,
        sender_domain TEXT NOT NULL,
        recipient_domain TEXT NOT NULL,
        requested INTEGER NOT NULL DEFAULT 0,
        accepted INTEGER NOT NULL DEFAULT 0,
        delivered INTEGER NOT NULL DEFAULT 0,
        dropped INTEGER NOT NULL DEFAULT 0,
        bounced INTEGER NOT NULL DEFAULT 0,
        hard_bounced INTEGER NOT NULL DEFAULT 0,
        spam_bounced INTEGER NOT NULL DEFAULT 0,
        deferred INTEGER NOT NULL DEFAULT 0,
        opened INTEGER NOT NULL DEFAULT 0,
        prefetched INTEGER NOT NULL DEFAULT 0,
        clicked INTEGER NOT NULL DEFAULT 0,
        unsubscribed INTEGER NOT NULL DEFAULT 0,
        complained INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, day, sender_domain, recipient_domain)
      )`,
      'CREATE INDEX daily_volumes_domain ON daily_volumes (sender_domain, day)',
      // Open and click tracking, per account (SESAME_TRACKING gives new accounts theirs).
      'ALTER TABLE accounts ADD COLUMN tracking INTEGER NOT NULL DEFAULT 1',
      // A domain blocked for the rest of a day by the reputation rules (the day, YYYY-MM-DD), and
      // the last day the lowering rules were applied to.
      "ALTER TABLE domains ADD COLUMN blocked_day TEXT NOT NULL DEFAULT ''",
      "ALTER TABLE domains ADD COLUMN judged_day TEXT NOT NULL DEFAULT ''",
      // Mail the bounce MX took but could not match to a delivery (or read at all): kept for the
      // operator (sesame inbound list/show) as long as statuses, never retried. Not a tenant's:
      // nothing says whose it is.
      `CREATE TABLE inbound_kept (
        id ${d.idColumn},
        received_at ${d.bigint} NOT NULL,
        client TEXT NOT NULL,
        mail_from TEXT NOT NULL,
        rcpt_to TEXT NOT NULL,
        reason TEXT NOT NULL,
        size INTEGER NOT NULL,
        raw TEXT NOT NULL
      )`,
      'CREATE INDEX inbound_kept_time ON inbound_kept (received_at)',
    ],
  },
  {
    version: 11,
    name: 'webhooks: callbacks, their outbox and delivery log',
    up: (d) => [
      // The value of a message's X-Tencentcloudses-Cb-Custom header (SmtpHeaders), echoed in its callbacks.
      'ALTER TABLE messages ADD COLUMN callback_custom TEXT',
      // Where an account's events are posted: its own level (address '') or one sender address's.
      `CREATE TABLE callbacks (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        address TEXT NOT NULL,
        url TEXT NOT NULL,
        secret_sealed TEXT NOT NULL,
        status INTEGER NOT NULL DEFAULT 1,
        failing_since ${d.bigint},
        created_at ${d.bigint} NOT NULL,
        UNIQUE (account_id, address)
      )`,
      // Events waiting to be posted (at least once): written with the event, deleted once posted,
      // refused for good (410) or given up. Claimed with a lease, as deliveries are.
      `CREATE TABLE webhook_outbox (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL,
        event_id ${d.bigint} NOT NULL,
        callback_id ${d.bigint} NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at ${d.bigint} NOT NULL,
        lease_owner ${d.bigint},
        created_at ${d.bigint} NOT NULL
      )`,
      'CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at)',
      // Every request made, for the console: kept as long as statuses.
      `CREATE TABLE webhook_log (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL,
        callback_id ${d.bigint} NOT NULL,
        event_id ${d.bigint} NOT NULL,
        at ${d.bigint} NOT NULL,
        http_status INTEGER NOT NULL,
        latency_ms INTEGER NOT NULL,
        error TEXT NOT NULL
      )`,
      'CREATE INDEX webhook_log_callback ON webhook_log (callback_id, id)',
      'CREATE INDEX webhook_log_time ON webhook_log (at)',
    ],
  },
  {
    version: 12,
    name: 'console sessions',
    up: (d) => [
      // A signed-in browser: the SHA-256 of its cookie (the cookie itself is never stored), the API
      // key it signed in with (revoking the key ends the session), its CSRF token, and when it ends.
      `CREATE TABLE console_sessions (
        id_hash TEXT PRIMARY KEY,
        account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
        secret_id TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at ${d.bigint} NOT NULL,
        expires_at ${d.bigint} NOT NULL
      )`,
      'CREATE INDEX console_sessions_expiry ON console_sessions (expires_at)',
    ],
  },
  {
    version: 13,
    name: 'mail kept by capture mode',
    up: (d) => [
      // What SESAME_DELIVERY=capture would have sent, one row per delivery (written in the
      // transaction of its delivered outcome): the signed message as base64 (the RFC 5322 bytes,
      // 8-bit ones included, as GetCapturedEmail answers them), and what the list shows, copied so
      // a row outlives its delivery and message by the hours between their times. Kept as long as
      // statuses, and at most CAPTURED_PER_ACCOUNT per account (services/retention.ts).
      `CREATE TABLE captured_mail (
        id ${d.idColumn},
        account_id ${d.bigint} NOT NULL,
        delivery_id ${d.bigint} NOT NULL UNIQUE,
        message_id TEXT NOT NULL,
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        size INTEGER NOT NULL,
        raw TEXT NOT NULL,
        captured_at ${d.bigint} NOT NULL
      )`,
      // The list, newest first, and the retention job's cut of an account's oldest; a recipient's own.
      'CREATE INDEX captured_mail_account ON captured_mail (account_id, id)',
      'CREATE INDEX captured_mail_recipient ON captured_mail (account_id, recipient, id)',
    ],
  },
  {
    version: 14,
    name: 'leases of the periodic jobs',
    up: (d) => [
      // One row per periodic job (DNS re-check, retention, reputation): the worker running a round
      // now (`holder`, NULL between rounds) until `expires_at` unless renewed, so a crashed holder's
      // lease lapses; the next round is due at `next_at` (whichever worker comes first takes it);
      // `rounds` counts the rounds taken.
      `CREATE TABLE job_leases (
        job TEXT PRIMARY KEY,
        holder TEXT,
        expires_at ${d.bigint} NOT NULL,
        next_at ${d.bigint} NOT NULL,
        rounds ${d.bigint} NOT NULL DEFAULT 0
      )`,
    ],
  },
];

const DOMAIN_COLUMNS_V6 = 'id, account_id, name, dkim_option, selector, dkim_keys, tags, reputation_level, verified, verified_at, checked_at, next_check_at, created_at';
const SENDER_COLUMNS_V6 = 'id, account_id, domain_id, address, sender_name, smtp_password_hash, created_at';

/**
 * Removes the UNIQUE constraint on domains.name (migration 2's). PostgreSQL drops it in place.
 * SQLite cannot drop a column constraint, so the table is rebuilt without it; foreign keys stay on
 * (the pragma cannot change inside the migration's transaction), so the sender addresses that
 * reference domains wait in a temporary table while it is replaced, and the AUTOINCREMENT sequence
 * is carried over (a fresh table would restart after its highest surviving id and reuse the ids of
 * deleted domains, which messages and send counts still name).
 */
function dropDomainNameUnique(d: Dialect): string[] {
  if (d.alterConstraints) return ['ALTER TABLE domains DROP CONSTRAINT domains_name_key'];
  return [
    `CREATE TEMP TABLE m7_sender_addresses AS SELECT ${SENDER_COLUMNS_V6} FROM sender_addresses`,
    'DELETE FROM sender_addresses',
    `CREATE TABLE domains_new (
      id ${d.idColumn},
      account_id ${d.bigint} NOT NULL REFERENCES accounts(id),
      name TEXT NOT NULL,
      dkim_option INTEGER NOT NULL,
      selector TEXT NOT NULL,
      dkim_keys TEXT NOT NULL,
      tags TEXT NOT NULL,
      reputation_level INTEGER NOT NULL,
      verified INTEGER NOT NULL DEFAULT 0,
      verified_at ${d.bigint},
      checked_at ${d.bigint},
      next_check_at ${d.bigint} NOT NULL,
      created_at ${d.bigint} NOT NULL
    )`,
    `INSERT INTO domains_new (${DOMAIN_COLUMNS_V6}) SELECT ${DOMAIN_COLUMNS_V6} FROM domains`,
    "DELETE FROM sqlite_sequence WHERE name = 'domains_new'",
    "INSERT INTO sqlite_sequence (name, seq) SELECT 'domains_new', seq FROM sqlite_sequence WHERE name = 'domains'",
    'DROP TABLE domains',
    // The sequence row is renamed with the table.
    'ALTER TABLE domains_new RENAME TO domains',
    `INSERT INTO sender_addresses (${SENDER_COLUMNS_V6}) SELECT ${SENDER_COLUMNS_V6} FROM m7_sender_addresses`,
    'DROP TABLE m7_sender_addresses',
    // Indexes go with the dropped table.
    'CREATE INDEX domains_account ON domains (account_id, id)',
    'CREATE INDEX domains_next_check ON domains (next_check_at)',
  ];
}

/** Arbitrary constant: the lock key that serialises migrations across processes. */
const MIGRATION_LOCK = 0x5e5a3e;

/** Applies every migration the database lacks; refuses a database newer than this program. */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const applied: number[] = [];
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  for (const m of migrations) {
    const done = await db.tx(async (q) => {
      const lock = db.dialect.txLockSql(MIGRATION_LOCK);
      if (lock) await q.get(lock);
      await q.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ${db.dialect.bigint} NOT NULL)`);
      const newest = await q.get<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
      if ((newest?.v ?? 0) > latest) {
        throw new Error(`The database schema is at version ${newest?.v}, newer than this Sesame knows (${latest}). Upgrade Sesame.`);
      }
      const row = await q.get('SELECT version FROM schema_migrations WHERE version = ?', [m.version]);
      if (row) return false;
      for (const stmt of m.up(db.dialect)) await q.run(stmt);
      await q.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, Date.now()]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}

/** The highest applied migration. */
export async function schemaVersion(db: Db): Promise<number> {
  const r = await db.get<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
  return r?.v ?? 0;
}
