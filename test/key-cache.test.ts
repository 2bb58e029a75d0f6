/**
 * Keys found are kept between requests only while nothing could have changed them: a change by
 * another connection to the store (another process: SQLite's data_version) or by this process
 * itself is seen on the very next request, on both stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/main.js';
import { STORES, startTestApp, type TestApp } from './helpers/app.js';
import { errorCode, sdkClient } from './helpers/sdk.js';

describe.each(STORES)('API keys kept between requests on %s', (store) => {
  let t: TestApp;
  beforeAll(async () => { t = await startTestApp(store); });
  afterAll(async () => { await t?.stop(); });

  it('sees a key revoked or an account suspended by another connection, or by this process, from the next request on', async () => {
    const accounts = t.app.services.accounts;
    const account = (await accounts.byAppId(t.creds.AppId))!;
    const extra = await accounts.createKey(account);
    const call = sdkClient('v4:TC3', t.endpoint, { SecretId: extra.SecretId, SecretKey: extra.SecretKey });
    const list = () => call('ListEmailTemplates', { Limit: 1, Offset: 0 });
    // Used twice: the second may be answered from what the first found.
    await list();
    await list();

    // Suspended and enabled by this process.
    await accounts.setDisabled(t.creds.AppId, true);
    expect(await errorCode(list())).toBe('AuthFailure.UnauthorizedOperation');
    await accounts.setDisabled(t.creds.AppId, false);
    await list();

    // Suspended, then the key deleted, through a connection of its own (as another process would).
    const other = await openStore(t.config);
    try {
      await other.run('UPDATE accounts SET disabled_at = ? WHERE id = ?', [Date.now(), account.id]);
      expect(await errorCode(list())).toBe('AuthFailure.UnauthorizedOperation');
      await other.run('UPDATE accounts SET disabled_at = NULL WHERE id = ?', [account.id]);
      await list();
      await other.run('DELETE FROM api_keys WHERE secret_id = ?', [extra.SecretId]);
      expect(await errorCode(list())).toBe('AuthFailure.SecretIdNotFound');
    } finally {
      await other.close();
    }
  });
});
