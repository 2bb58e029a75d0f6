/**
 * Slow salted password hashes (scrypt, RFC 7914) for SMTP passwords: the store holds only the hash,
 * and checking a guess costs tens of milliseconds, which makes guessing a stolen table expensive.
 *
 * That cost is also a weapon: scrypt runs on libuv's thread pool (4 threads, as Sesame leaves
 * UV_THREADPOOL_SIZE alone), which also runs the SQLite store's fsyncs and dns.lookup, so AUTH
 * attempts fired at will would leave every tenant's writes waiting behind them. Every hash here
 * therefore takes a turn at a gate of CHECKS_AT_ONCE, below the pool's size, so an fsync or a
 * lookup always finds a free thread; a check that may be refused (an SMTP login, in the line of its
 * client's network) is refused without any work when the line is full (`GateFullError`).
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { FairGate } from './fair-gate.js';

export { GateFullError } from './fair-gate.js';

/** Cost parameters: N=2^15, r=8, p=1 (≈ 32 MiB and some tens of ms per hash). */
const PARAMS = { N: 1 << 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

/** Hashes computed at once: two of the pool's four threads (and 64 MiB), the other two left free. */
const CHECKS_AT_ONCE = 2;
/**
 * Refusable checks waiting at most: room for a pooled client opening all its connections at once
 * (the intake benchmark's logs 20 in together), while the last in line waits 16 rounds of two hashes
 * (about 1.5 s at 90 ms a hash, well within any client's timeout); a longer line would only serve a
 * flood. The line is shared fairly between networks, so a flood from one fills it without
 * shutting the others out.
 */
const CHECKS_WAITING = 32;

const gate = new FairGate({ concurrency: CHECKS_AT_ONCE, maxWaiting: CHECKS_WAITING });

/**
 * Where a check waits: in the line of `line` (e.g. the client's network), refused when the line is
 * full. A `known` line (a network a login succeeded from lately) is never refused and goes ahead,
 * taking every other turn: a flood spread over many networks cannot keep out the applications that
 * log in every day (their checks are bounded by their network's failure count instead), and a
 * client logging in again and again from a known network cannot keep out everyone else (lib/fair-gate.ts).
 * Without a line the check is never
 * refused (the API's, whose callers are authenticated and rate-limited), and still waits its turn.
 */
export interface CheckTurn { line?: string; known?: boolean }

function derive(password: string, salt: Buffer, o: { N: number; r: number; p: number }, turn: CheckTurn): Promise<Buffer> {
  const options: ScryptOptions = { N: o.N, r: o.r, p: o.p, maxmem: 128 * o.N * o.r * 2 };
  return gate.run(turn.line ?? '', () => new Promise<Buffer>((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key)));
  }), turn.line !== undefined, turn.known === true);
}

/** `scrypt$N$r$p$salt$hash` (base64 parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS, {});
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** True when `password` matches `stored` (compared in constant time); GateFullError when refused. */
export async function verifyPassword(password: string, stored: string, turn: CheckTurn = {}): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p) }, turn);
  return key.length === expected.length && timingSafeEqual(key, expected);
}
