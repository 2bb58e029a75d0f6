/**
 * The SMTP connection pool against real SMTP servers that misbehave the way real ones do: hanging
 * up on RSET, closing right after accepting a message, timing out idle connections, greeting late,
 * and advertising a SIZE the message exceeds. Whatever they do, every send ends with a result, no
 * connection slot is lost, and the next message goes out. An address the pool is told not to reach
 * is never connected to.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpPool, type PoolOptions, type Target } from '../src/delivery/smtp-pool.js';
import { isPublicAddress } from '../src/lib/ip-ranges.js';
import { freePort, startMx, type TestMx } from './helpers/mx.js';
import { startRawSmtp } from './helpers/raw-smtp.js';
import { eventually } from './helpers/sending.js';

const log = pino({ level: 'silent' });
const message = (n: number): Buffer => Buffer.from(`From: a@x.test\r\nTo: b@y.test\r\nSubject: ${n}\r\n\r\nbody ${n}\r\n`);
const envelope = { from: 'a@x.test', to: ['b@y.test'] };

describe('SMTP connection pool', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function setup(mxOptions: Parameters<typeof startMx>[3], poolOptions: Partial<PoolOptions> = {}): Promise<{ mx: TestMx; pool: SmtpPool; target: Target }> {
    const port = await freePort();
    const mx = await startMx('127.0.0.7', port, { kind: 'accept' }, mxOptions);
    const pool = new SmtpPool({
      ehloName: 'mta.sesame.test', tls: 'opportunistic', perTarget: 2, messagesPerConnection: 100, idleMs: 30_000,
      timeouts: { queueMs: 10_000 }, ...poolOptions,
    }, log);
    stops.push(() => mx.stop(), () => pool.close());
    return { mx, pool, target: { address: '127.0.0.7', port, hostname: 'mx.y.test' } };
  }

  it('opens no connection to an address it is told not to (a second line behind the route)', async () => {
    const { mx, pool, target } = await setup({ noStartTls: true }, { allowAddress: isPublicAddress });
    expect(await pool.send(target, envelope, message(1))).toEqual({ kind: 'refused' });
    expect(await pool.send({ ...target, address: '::ffff:127.0.0.7' }, envelope, message(2))).toEqual({ kind: 'refused' });
    expect(mx.connections).toBe(0);
    expect(mx.received).toHaveLength(0);
  });

  it('sends the next message on the same connection right after a delivered one, and after an RSET once one was refused', async () => {
    const { mx, pool, target } = await setup({ noStartTls: true });
    for (let i = 0; i < 5; i++) expect((await pool.send(target, envelope, message(i))).kind).toBe('sent');
    // A completed transaction leaves the session clean (RFC 5321 §4.1.1.4): no RSET, one connection.
    expect([mx.connections, mx.resets]).toEqual([1, 0]);
    mx.mode = { kind: 'reject', at: 'rcpt' };
    expect(await pool.send(target, envelope, message(5))).toMatchObject({ kind: 'failed', permanent: true });
    mx.mode = { kind: 'accept' };
    expect((await pool.send(target, envelope, message(6))).kind).toBe('sent');
    // The refused transaction was left open at the server: that connection was reset before it
    // carried another (the next message may go on the second slot while the RSET is answered).
    expect(mx.resets).toBe(1);
    expect(mx.connections).toBeLessThanOrEqual(2);
    expect(mx.received).toHaveLength(6);
  });

  it('a server that hangs up on RSET costs no connection slot: every message still goes out', async () => {
    const { mx, pool, target } = await setup({ noStartTls: true, dropOnRset: true });
    // Two slots; refused and accepted messages by turns, one after another: each refusal is followed
    // by an RSET that kills its connection, and the slot comes back.
    for (let i = 0; i < 6; i++) {
      mx.mode = i % 2 === 0 ? { kind: 'reject', at: 'rcpt' } : { kind: 'accept' };
      const r = await pool.send(target, envelope, message(i));
      expect(r.kind, `message ${i}`).toBe(i % 2 === 0 ? 'failed' : 'sent');
    }
    expect(mx.received).toHaveLength(3);
    expect(mx.resets).toBe(3);
    // And in parallel, more messages than slots, after refusals on every connection.
    mx.mode = { kind: 'reject', at: 'rcpt' };
    await Promise.all(Array.from({ length: 2 }, (_, i) => pool.send(target, envelope, message(10 + i))));
    mx.mode = { kind: 'accept' };
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.send(target, envelope, message(20 + i))));
    expect(results.every((r) => r.kind === 'sent')).toBe(true);
    expect(mx.received).toHaveLength(9);
  });

  it('a server that closes right after accepting each message: the next one goes on a fresh connection', async () => {
    const { mx, pool, target } = await setup({ noStartTls: true });
    mx.mode = { kind: 'accept', close: true };
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => pool.send(target, envelope, message(i))));
    expect(results.map((r) => r.kind)).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
    for (let i = 0; i < 3; i++) expect((await pool.send(target, envelope, message(20 + i))).kind).toBe('sent');
    expect(mx.received).toHaveLength(8);
  });

  it('an idle connection the server timed out is not used: the message goes on a fresh one, first time', async () => {
    const { mx, pool, target } = await setup({ noStartTls: true });
    expect((await pool.send(target, envelope, message(1))).kind).toBe('sent');
    // The server ends every connection it has (as an idle timeout would).
    await mx.dropConnections();
    const r = await pool.send(target, envelope, message(2));
    expect(r).toMatchObject({ kind: 'sent' });
    expect(mx.received).toHaveLength(2);
  });

  it('waits for a late greeting past the connect timeout (the greeting has its own)', async () => {
    const port = await freePort();
    // Accepts the TCP connection at once and greets after 1.5 s (postscreen-style).
    const server = await startRawSmtp('127.0.0.8', port, { greetDelayMs: 1500, dataReply: '250 2.0.0 queued as late' });
    stops.push(() => server.stop());
    const pool = new SmtpPool({
      ehloName: 'mta.sesame.test', tls: 'none', perTarget: 1, messagesPerConnection: 10, idleMs: 1000,
      timeouts: { connectMs: 500, greetingMs: 5000 },
    }, log);
    stops.push(() => pool.close());
    const r = await pool.send({ address: '127.0.0.8', port, hostname: 'slow.y.test' }, envelope, message(1));
    expect(r).toMatchObject({ kind: 'sent', response: '250 2.0.0 queued as late' });
    expect(server.messages).toBe(1);
  });

  it('a message over the server\'s SIZE is refused for good (552 5.3.4), not retried', async () => {
    const { pool, target } = await setup({ noStartTls: true, size: 1000 });
    const big = Buffer.concat([message(1), Buffer.alloc(5000, 'x')]);
    const r = await pool.send(target, envelope, big);
    expect(r).toMatchObject({ kind: 'failed', permanent: true, code: 552, connection: false });
    expect(r.kind === 'failed' && r.response).toMatch(/^552 5\.3\.4 /);
    // The connection is fine for the next (small) message.
    expect((await pool.send(target, envelope, message(2))).kind).toBe('sent');
  });

  it('a send waiting for a busy target gives up after the queue timeout, as a connection failure', async () => {
    let release!: () => void;
    const { mx, pool, target } = await setup({ noStartTls: true }, { perTarget: 1, timeouts: { queueMs: 300 } });
    mx.mode = { kind: 'hold', release: new Promise<void>((r) => { release = r; }) };
    const first = pool.send(target, envelope, message(1));
    await eventually(async () => mx.holding === 1, 5000, 'the MX to hold the first send');
    const second = await pool.send(target, envelope, message(2));
    expect(second).toMatchObject({ kind: 'failed', connection: true, permanent: false });
    expect(second.kind === 'failed' && second.response).toContain('came free');
    release();
    expect((await first).kind).toBe('sent');
  });
});
