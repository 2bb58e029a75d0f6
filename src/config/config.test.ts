/** The configuration schema: defaults, parsing, and errors that name the setting. */
import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from './load.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c.httpPort).toBe(8080);
    expect(c.smtpPort).toBe(2587);
    expect(c.smtpsPort).toBe(2465);
    expect(c.mxPort).toBe(2525);
    expect(c.dataDir).toBe('./data');
    expect(c.listenHost).toBe('127.0.0.1');
    expect(c.apiRateLimit).toBe(20);
    expect(c.dailyQuota).toEqual({ kind: 'reputation' });
    expect(c.regions).toEqual(['ap-singapore', 'ap-hongkong', 'ap-guangzhou']);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.publicUrl.href).toBe('http://localhost:8080/');
  });

  it('parses each kind of setting', () => {
    const c = loadConfig({
      SESAME_HTTP_PORT: '9000', SESAME_DAILY_QUOTA: '5000', SESAME_DNS_SERVERS: '127.0.0.1:5353, 10.0.0.2',
      SESAME_API_RATE_LIMITS: 'SendEmail=100,ListEmailTemplates=0', SESAME_TEMPLATE_REVIEW: 'yes',
      SESAME_DATABASE_URL: 'postgres://u:p@db:5432/sesame',
    });
    expect(c.httpPort).toBe(9000);
    expect(c.dailyQuota).toEqual({ kind: 'fixed', perDay: 5000 });
    expect(c.dnsServers).toEqual(['127.0.0.1:5353', '10.0.0.2']);
    expect([...c.apiRateLimits]).toEqual([['SendEmail', 100], ['ListEmailTemplates', 0]]);
    expect(c.templateReview).toBe(true);
    expect(c.databaseUrl?.hostname).toBe('db');
  });

  it('lists every bad setting with what it allows', () => {
    let err: ConfigError | undefined;
    try {
      loadConfig({ SESAME_HTTP_PORT: '99999', SESAME_API_RATE_LIMITS: 'Nope=1', SESAME_DATABASE_URL: 'mysql://x', SESAME_SECRET_KEY: 'short' });
    } catch (e) { err = e as ConfigError; }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.problems).toHaveLength(4);
    expect(err?.message).toContain('SESAME_HTTP_PORT="99999"');
    expect(err?.message).toContain('"Nope" is not a known action');
    expect(err?.message).toContain('postgres:// or postgresql://');
    // A secret's bad value is not echoed.
    expect(err?.message).toContain('SESAME_SECRET_KEY=(hidden)');
    expect(err?.message).not.toContain('short');
  });

  it('checks settings that go together', () => {
    expect(() => loadConfig({ SESAME_SECRET_ID: `AKID${'a'.repeat(32)}` })).toThrow(/SESAME_SECRET_ID and SESAME_SECRET_KEY/);
    expect(() => loadConfig({ SESAME_DELIVERY: 'relay' })).toThrow(/SESAME_RELAY_URL/);
    expect(() => loadConfig({ SESAME_TLS_KEY: '/k.pem' })).toThrow(/SESAME_TLS_CERT/);
  });

  it('masks secrets when printed', () => {
    const rows = describeConfig(loadConfig({ SESAME_DATABASE_URL: 'postgres://u:pw@db/s', SESAME_MASTER_KEY: 'a'.repeat(64) }));
    const byName = new Map(rows.map((r) => [r.env, r]));
    expect(byName.get('SESAME_DATABASE_URL')?.value).toBe('postgres://u:****@db/s');
    expect(byName.get('SESAME_MASTER_KEY')?.value).toBe('********');
    expect(byName.get('SESAME_SECRET_KEY')?.value).toBe('');
    expect(byName.get('SESAME_HTTP_PORT')).toMatchObject({ value: '8080', isDefault: true });
  });
});
