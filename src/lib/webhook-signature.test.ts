import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signWebhook } from './webhook-signature.js';

describe('webhook signatures', () => {
  it('match the Standard Webhooks reference library, which verifies them', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const body = JSON.stringify({ event: 'delivered', email: 'ü@x.test' });
    const at = new Date(1_765_000_000_000);
    const wh = new Webhook(secret);
    expect(signWebhook(secret, 'msg_1', 1_765_000_000, body)).toBe(wh.sign('msg_1', at, body));
    // The library's own check, with its tolerance for the timestamp measured from now.
    const now = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'msg_2', 'webhook-timestamp': String(now), 'webhook-signature': signWebhook(secret, 'msg_2', now, body) };
    expect(wh.verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => wh.verify(`${body} `, headers)).toThrow();
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
  });

  it('follows the reference test vector', () => {
    // The example in the Standard Webhooks specification.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = '{"test": 2432232314}';
    expect(signWebhook(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
});
