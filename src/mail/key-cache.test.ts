/**
 * DKIM keys are kept parsed by the signer itself: nothing process-wide is patched, in the main
 * thread or anywhere (an earlier version replaced crypto.createPrivateKey for every caller in the
 * process, the API and the store included).
 */
import crypto, { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';

describe('DKIM key cache', () => {
  it('leaves crypto.createPrivateKey as it was after loading Sesame and signing on this thread', async () => {
    const original = crypto.createPrivateKey;
    // Loaded only now, so whatever they do at import happens under the test's eyes.
    await import('../main.js');
    const { createRenderer } = await import('./render-pool.js');
    expect(crypto.createPrivateKey).toBe(original);
    // Rendering on the main thread (SESAME_RENDER_THREADS=0) signs with a cached key, still without patching.
    const privateKeyPem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const inline = createRenderer(0);
    const signed = await inline.render({
      content: {
        from: { name: 'Shop', address: 'news@shop.test' }, domain: 'shop.test', bounceDomain: 'shop.test',
        to: ['a@y.test'], cc: [], replyTo: null, subject: 'Hello', html: null, text: 'Hi', attachments: [],
        headers: [], messageIdHeader: '<1@shop.test>', date: Date.UTC(2026, 0, 1), unsubscribeLanguage: '0', templateId: null, triggerType: 1,
      },
      keys: [{ algorithm: 'rsa', selector: 's', privateKeyPem }],
      links: null,
    });
    expect(signed.toString()).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256;/);
    expect(crypto.createPrivateKey).toBe(original);
  });

  it('parses a key once', async () => {
    const { privateKeyFor } = await import('./key-cache.js');
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(privateKeyFor(pem)).toBe(privateKeyFor(pem));
    expect(privateKeyFor(pem).asymmetricKeyType).toBe('ed25519');
  });
});
