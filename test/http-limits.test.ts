/**
 * What one client can hold at the HTTP edge before anything proves who it is: memory for bodies
 * read before their signature can be checked (v1 and TC3) per client address, pauses in a body, connections
 * per address. Clients are told apart by their source address: the server listens on 127.0.0.1 and
 * loopback accepts any 127/8 source, so each client socket binds its own (127.0.0.2, 127.0.0.3 …).
 * One store is enough: all of this happens before a request reaches the store.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { send, sendTc3, sendV1, tc3Headers, type RawResponse } from './helpers/raw.js';
import { b64 } from './helpers/sdk.js';
import { eventually, within } from './helpers/sending.js';

const MB = 1024 * 1024;
/** Each address's share of bodies read before their signature is checked, in these tests (the smallest allowed). */
const SHARE = 10 * MB;
/** Generous for a loaded 2-core machine, and still far below any timeout that would hide a hang. */
const PROMPT_MS = 2_000;

/** A client that announces a v1 form body and sends part of it, then holds its connection. */
interface SlowClient {
  socket: Socket;
  /** Resolves once its bytes are all handed to the kernel (not necessarily read by the server yet), or it was answered, or it closed. */
  flushed: Promise<void>;
  /** Resolves when the server's whole answer has arrived, or the connection closed without one. */
  answered: Promise<void>;
  /** Resolves when the connection has closed, with the time it closed (performance.now()). */
  closed: Promise<number>;
  /** The server's answer: its status and Tencent error code; null while there is none. */
  answer(): { status: number; code: string | undefined } | null;
  /** The raw bytes answered so far. */
  raw(): string;
}

const opened: Socket[] = [];
const filler = Buffer.alloc(4 * MB, 'a');

/** By default a v1 form body; `head` gives other request headers (a TC3 request's, say). */
function slowClient(port: number, from: string, announced: number, sent: number, head?: Record<string, string>): SlowClient {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  opened.push(socket);
  let raw = '';
  socket.on('error', () => { /* refused clients are reset while they write: 'closed' tells */ });
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  const answered = new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      raw += d.toString('latin1');
      if (parseAnswer(raw)) resolve();
    });
    socket.once('close', () => resolve());
  });
  const flushed = new Promise<void>((resolve) => {
    socket.once('connect', () => {
      const fields = Object.entries(head ?? { 'Content-Type': 'application/x-www-form-urlencoded' }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${fields}Content-Length: ${announced}\r\n\r\n`);
      socket.write(filler.subarray(0, sent), () => resolve());
    });
    void answered.then(() => resolve());
  });
  return { socket, flushed, answered, closed, answer: () => parseAnswer(raw), raw: () => raw };
}

/** A complete HTTP answer's status and Tencent error code; null until the whole body (Content-Length) has arrived. */
function parseAnswer(raw: string): { status: number; code: string | undefined } | null {
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0) return null;
  const head = raw.slice(0, split);
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  const body = raw.slice(split + 4);
  if (Buffer.byteLength(body, 'latin1') < length) return null;
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  try {
    const json = JSON.parse(body) as { Response: { Error?: { Code: string }; RequestId: string } };
    return { status, code: json.Response.RequestId ? json.Response.Error?.Code : 'no RequestId' };
  } catch {
    return { status, code: undefined };
  }
}

/** Resolves once `n` of the clients have been answered (or closed). */
function answersFrom(clients: readonly SlowClient[], n: number): Promise<void> {
  let count = 0;
  return new Promise((resolve) => {
    for (const c of clients) void c.answered.then(() => { if (++count === n) resolve(); });
  });
}

/**
 * A round trip through the server from an address of its own: once answered, the server has gone
 * through its event loop more than once, and so has read what the slow clients' sockets held.
 */
const roundTrip = (url: string): Promise<RawResponse> => send(`${url}healthz`, { method: 'GET', localAddress: '127.0.0.9' });

afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
});

describe('bodies read before their signature is checked', () => {
  let t: TestApp;
  const port = (): number => t.app.httpPort!;
  const v1From = (localAddress: string): Promise<RawResponse> =>
    sendV1({ url: t.url, params: { Action: 'ListEmailTemplates', Limit: 1, Offset: 0 }, secretId: t.creds.SecretId, secretKey: t.creds.SecretKey, localAddress });
  // Templates of about 2 MB: a TC3 body larger than whatever the slow clients could leave free.
  beforeAll(async () => { t = await startTestApp('sqlite', { SESAME_TEMPLATE_MAX_BYTES: String(4 * MB), SESAME_HTTP_PREAUTH_BYTES_PER_IP: String(SHARE) }); });
  afterAll(async () => { await t?.stop(); });

  it('slow clients from one address, announcing 1 MB v1 bodies and holding them, cannot stop signed POSTs from another address', async () => {
    // Enough bodies to fill all the memory the server gives bodies (256 MB), as ~260 slow clients would.
    const slow = Array.from({ length: 264 }, () => slowClient(port(), '127.0.0.2', MB, MB - 1));
    await Promise.all(slow.map((c) => c.flushed));
    // Some of them are refused (all the memory they may take is taken), and the rest has been read.
    expect(await within(answersFrom(slow, 1), 10_000)).not.toBe('timeout');
    await roundTrip(t.url);

    let started = performance.now();
    const small = await v1From('127.0.0.3');
    expect(performance.now() - started).toBeLessThan(PROMPT_MS);
    expect(small.json.Response.Error).toBeUndefined();
    const html = `<p>${'x'.repeat(1.5 * MB)}</p>`;
    started = performance.now();
    const large = await sendTc3({
      url: t.url, action: 'CreateEmailTemplate', secretId: t.creds.SecretId, secretKey: t.creds.SecretKey, localAddress: '127.0.0.3',
      body: JSON.stringify({ TemplateName: 'large', TemplateContent: { Html: b64(html) } }),
    });
    expect(performance.now() - started).toBeLessThan(PROMPT_MS);
    expect(large.json.Response.Error).toBeUndefined();
    expect(large.json.Response.TemplateID).toBeTypeOf('number');
  });

  it('an address over its own share is refused with RequestLimitExceeded.IPLimitExceeded, in the Tencent envelope, and no other address is', async () => {
    // Twelve bodies of 1 MB cannot all fit in a share of 10 MB: at least two are refused.
    const slow = Array.from({ length: 12 }, () => slowClient(port(), '127.0.0.4', MB, MB - 1));
    expect(await within(answersFrom(slow, 2), 5_000), 'fewer than two bodies were refused').not.toBe('timeout');
    const refusals = slow.map((c) => c.answer()).filter((a) => a !== null);
    expect(refusals.length).toBeGreaterThanOrEqual(2);
    for (const r of refusals) expect(r).toEqual({ status: 200, code: 'RequestLimitExceeded.IPLimitExceeded' });
    const other = await v1From('127.0.0.3');
    expect(other.json.Response.Error).toBeUndefined();
  });

  it('TC3 bodies, read before their signature is checked, count against the address\'s share too', async () => {
    // A real SecretId (no secret: v1 GETs carry theirs in the URL) with a signature that will never
    // match; four bodies of 4 MB cannot all fit in a share of 10 MB.
    const head = tc3Headers({ url: t.url, action: 'ListEmailTemplates', body: '{}', secretId: t.creds.SecretId, secretKey: 'not the key' });
    const slow = Array.from({ length: 4 }, () => slowClient(port(), '127.0.0.10', 4 * MB, 4 * MB - 1, head));
    expect(await within(answersFrom(slow, 2), 5_000), 'fewer than two TC3 bodies were refused').not.toBe('timeout');
    const refusals = slow.map((c) => c.answer()).filter((a) => a !== null);
    expect(refusals.length).toBeGreaterThanOrEqual(2);
    for (const r of refusals) expect(r).toEqual({ status: 200, code: 'RequestLimitExceeded.IPLimitExceeded' });
    const other = await v1From('127.0.0.3');
    expect(other.json.Response.Error).toBeUndefined();
  });
});

describe('stalled bodies and connections per address', () => {
  let t: TestApp;
  const port = (): number => t.app.httpPort!;
  const v1From = (localAddress: string): Promise<RawResponse> =>
    sendV1({ url: t.url, params: { Action: 'ListEmailTemplates', Limit: 1, Offset: 0 }, secretId: t.creds.SecretId, secretKey: t.creds.SecretKey, localAddress });
  beforeAll(async () => {
    t = await startTestApp('sqlite', { SESAME_HTTP_BODY_IDLE_SECONDS: '1', SESAME_HTTP_MAX_CONNECTIONS_PER_IP: '4', SESAME_HTTP_PREAUTH_BYTES_PER_IP: String(SHARE) });
  });
  afterAll(async () => { await t?.stop(); });

  it('cuts a body that stops arriving after the idle timeout, and gives its bytes back', async () => {
    const stalled = slowClient(port(), '127.0.0.5', MB, 300 * 1024);
    await stalled.flushed;
    const since = performance.now();
    const closedAt = await within(stalled.closed, 6_000);
    expect(closedAt, 'the stalled body was never cut').not.toBe('timeout');
    // Cut after one idle second (noticed within a quarter of it), not at once and not much later.
    expect((closedAt as number) - since).toBeGreaterThan(800);
    expect((closedAt as number) - since).toBeLessThan(1_000 + 250 + PROMPT_MS);
    expect(stalled.raw()).toMatch(/^HTTP\/1\.1 408 /);

    // Four TC3 bodies (as many connections as the address may open here; a v1 body holds 1 MB at
    // most) that fill its 10 MB share exactly; once they are cut, the share is free again.
    const head = tc3Headers({ url: t.url, action: 'ListEmailTemplates', body: '{}', secretId: t.creds.SecretId, secretKey: 'not the key' });
    const full = Array.from({ length: 4 }, () => slowClient(port(), '127.0.0.6', SHARE / 4 + 1, SHARE / 4, head));
    await Promise.all(full.map((c) => c.flushed));
    for (const c of full) expect(await within(c.closed, 6_000)).not.toBe('timeout');
    expect(full.map((c) => c.raw().split('\r\n')[0])).toEqual(Array(4).fill('HTTP/1.1 408 Request Timeout'));
    const after = await v1From('127.0.0.6');
    expect(after.json.Response.Error).toBeUndefined();
  });

  it('refuses connections beyond the per-address limit with a short answer, while another address connects', async () => {
    // Four kept-alive connections from one address, each known to the server (it answered on it).
    const kept = await Promise.all(Array.from({ length: 4 }, () => keptConnection(port(), '127.0.0.7')));
    const api = await v1From('127.0.0.7');
    expect(api.status).toBe(200);
    expect(api.json.Response.Error?.Code).toBe('RequestLimitExceeded.IPLimitExceeded');
    const health = await send(`${t.url}healthz`, { method: 'GET', localAddress: '127.0.0.7' });
    expect(health.status).toBe(503);
    expect(health.headers.connection).toBe('close');
    expect(health.text).toMatch(/too many connections/i);

    expect((await send(`${t.url}healthz`, { method: 'GET', localAddress: '127.0.0.8' })).status).toBe(200);
    expect((await v1From('127.0.0.8')).json.Response.Error).toBeUndefined();

    // One closes: the address may connect again.
    kept[0].destroy();
    await eventually(async () => (await send(`${t.url}healthz`, { method: 'GET', localAddress: '127.0.0.7' })).status === 200, 5_000, 'the address to be let in again');
  });
});

/** A keep-alive connection from `from` on which the server has answered one request. */
function keptConnection(port: number, from: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: from });
    opened.push(socket);
    let got = '';
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    socket.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('"status"')) {
        if (!got.startsWith('HTTP/1.1 200 ')) reject(new Error(`the server refused a connection within the limit: ${got.split('\r\n')[0]}`));
        else resolve(socket);
      }
    });
  });
}
