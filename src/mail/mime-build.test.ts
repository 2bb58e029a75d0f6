/**
 * The synchronous writer gives, byte for byte, what nodemailer's own streaming build gives for the
 * same tree: plain and HTML parts, both, attachments (text, binary, base64-given), non-ASCII in
 * every header and part, long lines, every kind of line break, whitespace at part ends, empty parts,
 * custom headers; and it declines a tree holding a stream or a raw node.
 */
import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { describe, expect, it } from 'vitest';
import { buildSync } from './mime-build.js';

const base: Mail.Options = {
  from: { name: 'News Ünïcode “quoted”', address: 'news@sink.test' }, to: ['a@b.test', 'Zoë <z@b.test>'], subject: 'Hello',
  date: new Date(1_700_000_000_000), messageId: '<m1@sink.test>', textEncoding: 'quoted-printable', disableFileAccess: true, disableUrlAccess: true,
};

/** Both builds of one compiled tree (so they share its boundaries). */
async function both(options: Mail.Options): Promise<{ sync: Buffer | null; streamed: Buffer }> {
  const root = new MailComposer({ ...base, ...options }).compile();
  const sync = buildSync(root);
  const streamed = await new Promise<Buffer>((resolve, reject) => root.build((e, m) => (e ? reject(e) : resolve(m))));
  return { sync, streamed };
}

const long = 'word '.repeat(60);
const cases: Record<string, Mail.Options> = {
  'HTML only': { html: '<p>Hello Zoë, “quotes” and € signs</p>' },
  'text only, ASCII': { text: 'Hello there' },
  'text only, long lines': { text: `${long}\n${'x'.repeat(200)}` },
  'HTML and text': { html: '<p>Hi</p>', text: 'Hi' },
  'every line break and trailing whitespace': { html: 'a\r\nb\nc\rd  \t\n  ', text: 'one \r\n\r\ntwo\t' },
  'empty text': { html: '<p>x</p>', text: '' },
  '8-bit and 4-byte characters': { html: `<p>${'日本語のテキスト😀'.repeat(30)}</p>`, text: 'ﬁ ß ğ 𝄞' },
  'long non-ASCII subject, cc, reply-to, custom headers': {
    subject: `Ünïcode ${long}`, cc: ['Ünï <u@b.test>'], replyTo: 'r@b.test', html: '<b>x</b>',
    headers: [{ key: 'X-Custom', value: `v ${long}` }, { key: 'List-Unsubscribe', value: '<https://x.test/u/abc>' }],
  },
  attachments: {
    html: '<p>see attached</p>', text: 'see attached',
    attachments: [
      { filename: 'a.txt', content: Buffer.from('plain text\nline two').toString('base64'), encoding: 'base64', contentType: 'text/plain' },
      { filename: 'résumé.pdf', content: Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256)).toString('base64'), encoding: 'base64', contentType: 'application/pdf' },
      { filename: 'img.png', content: Buffer.alloc(0).toString('base64'), encoding: 'base64', contentType: 'image/png' },
    ],
  },
};

describe('buildSync', () => {
  it.each(Object.entries(cases))('writes what build() writes: %s', async (_name, options) => {
    const { sync, streamed } = await both(options);
    expect(sync).not.toBeNull();
    expect(sync!.toString('latin1')).toBe(streamed.toString('latin1'));
  });

  it('leaves a tree holding a stream, or a raw node, to build()', async () => {
    const streaming = new MailComposer({ ...base, html: Readable.from(['<p>x</p>']) }).compile();
    expect(buildSync(streaming)).toBeNull();
    const raw = new MailComposer({ ...base, raw: 'Subject: x\r\n\r\nbody\r\n' }).compile();
    expect(buildSync(raw)).toBeNull();
  });
});
