import { describe, expect, it } from 'vitest';
import type { MessageContent } from './content.js';
import { createRenderer } from './render-pool.js';

const content: MessageContent = {
  from: { name: 'Shop', address: 'news@shop.test' }, domain: 'shop.test', bounceDomain: 'shop.test',
  to: ['a@y.test'], cc: [], replyTo: null, subject: 'Hello', html: '<p>Hi</p>', text: 'Hi', attachments: [],
  headers: [], messageIdHeader: '<1@shop.test>', date: Date.UTC(2026, 0, 1), unsubscribeLanguage: '0', templateId: null, triggerType: 1,
};

describe('render threads', () => {
  it('render on a thread what the main thread would', async () => {
    const threads = createRenderer(1);
    const inline = createRenderer(0);
    try {
      const [a, b] = await Promise.all([threads.render({ content, keys: [], links: null }), inline.render({ content, keys: [], links: null })]);
      expect(a.toString()).toContain('Subject: Hello');
      // Same input, same bytes (boundaries aside, which are random per composition).
      const stable = (m: Buffer): string => m.toString().replace(/--_NmP-[^\r\n-]+/g, 'B').replace(/boundary="[^"]+"/g, '');
      expect(stable(a)).toBe(stable(b));
    } finally {
      await threads.close();
      await inline.close();
    }
  });

  it('a render that runs past its time fails (the delivery is retried) instead of waiting for ever', async () => {
    const r = createRenderer(1, { timeoutMs: 1 });
    try {
      await expect(r.render({ content, keys: [], links: null })).rejects.toThrow(/took longer/);
    } finally {
      await r.close();
    }
  });

  it('closing fails the renders still waiting, at once', async () => {
    const r = createRenderer(1);
    const pending = r.render({ content: { ...content, html: `<p>${'x'.repeat(2_000_000)}</p>` }, keys: [], links: null });
    const failed = expect(pending).rejects.toThrow(/closed/);
    await r.close();
    await failed;
  });
});
