/**
 * A small HTTP load generator for signed API calls: closed loop (N connections, each sends its next
 * request when the previous answers) to find the saturation rate, and open loop (requests sent on a
 * fixed schedule, latency measured from the scheduled time, so a slow server cannot hide its queue)
 * for latency at a given rate.
 */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Sign = require('tencentcloud-sdk-nodejs-intl-en/tencentcloud/common/sign.js') as { sign3(o: Record<string, unknown>): string };

/** Credentials of the calling account. */
export interface Creds { SecretId: string; SecretKey: string }

/** One signed API call, ready to send. */
export interface Call { headers: Record<string, string>; body: Buffer }

const signed = new Map<string, Call>();

/**
 * Signs `action` with TC3 over the exact body, as the v4 SDK does. An identical call in the same
 * second reuses its signature (TC3 has no nonce, so a client may), which keeps the load generator's
 * own CPU from capping what the server is measured at.
 */
export function signCall(port: number, creds: Creds, action: string, params: unknown): Call {
  const body = Buffer.from(JSON.stringify(params));
  const timestamp = Math.floor(Date.now() / 1000);
  const key = `${timestamp}\n${action}\n${body.toString()}`;
  const hit = signed.get(key);
  if (hit) return hit;
  if (signed.size > 100) signed.clear();
  const call = sign(port, creds, action, body, timestamp);
  signed.set(key, call);
  return call;
}

function sign(port: number, creds: Creds, action: string, body: Buffer, timestamp: number): Call {
  const url = `http://127.0.0.1:${port}/`;
  return {
    body,
    headers: {
      'Content-Type': 'application/json',
      'Content-Length': String(body.length),
      'X-TC-Action': action,
      'X-TC-Version': '2020-10-02',
      'X-TC-Region': 'ap-singapore',
      'X-TC-Timestamp': String(timestamp),
      Authorization: Sign.sign3({
        method: 'POST', url, payload: body, timestamp, service: 'ses',
        secretId: creds.SecretId, secretKey: creds.SecretKey, headers: { 'Content-Type': 'application/json' },
      }),
    },
  };
}

/** Sends one call; resolves with the parsed response (throws on an API error). */
export function send(port: number, agent: Agent, call: Call): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'POST', agent, headers: call.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const r = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Response: Record<string, unknown> & { Error?: { Code: string } } }).Response;
        if (r.Error) reject(new Error(r.Error.Code)); else resolve(r);
      });
    });
    req.on('error', reject);
    req.end(call.body);
  });
}

/**
 * One keep-alive connection speaking just enough HTTP/1.1 for the benchmark: the request bytes are
 * built once per call, and responses are framed by Content-Length. Far cheaper per request than
 * node:http, so the generator does not cap the server it measures.
 */
export class RawConnection {
  private readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (ok: boolean) => void; reject: (e: Error) => void; ok: (head: string, body: Buffer) => boolean } | null = null;
  private readonly ready: Promise<void>;

  constructor(private readonly port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => { this.socket.once('connect', resolve); this.socket.once('error', reject); });
    this.socket.on('data', (c: Buffer) => { this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c; this.parse(); });
    this.socket.on('error', (e) => this.waiting?.reject(e));
    this.socket.on('close', () => this.waiting?.reject(new Error('connection closed')));
  }

  /** Sends one request; resolves true for an API success, false for an API error. */
  request(call: Call): Promise<boolean> {
    return this.requestBytes(wire(this.port, call), apiSucceeded);
  }

  /** Sends a request already in bytes (postBytes); resolves true for an API success. */
  requestRaw(bytes: Buffer): Promise<boolean> {
    return this.requestBytes(bytes, apiSucceeded);
  }

  /** Sends `GET path`; resolves whether the answer's status is `status`. */
  get(path: string, headers: Record<string, string>, status: number): Promise<boolean> {
    const head = Object.entries({ Host: `127.0.0.1:${this.port}`, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    return this.requestBytes(Buffer.from(`GET ${path} HTTP/1.1\r\n${head}\r\n`), (h) => h.startsWith(`HTTP/1.1 ${status} `));
  }

  /** Sends bytes of one request; resolves what `ok` says of the answer. */
  private async requestBytes(bytes: Buffer, ok: (head: string, body: Buffer) => boolean): Promise<boolean> {
    await this.ready;
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject, ok };
      this.socket.write(bytes);
    });
  }

  private parse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.waiting) return;
    const head = this.buf.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buf.length < end + 4 + length) return;
    const body = this.buf.subarray(end + 4, end + 4 + length);
    this.buf = this.buf.subarray(end + 4 + length);
    const w = this.waiting;
    this.waiting = null;
    w.resolve(w.ok(head, body));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** An answer of 200 whose envelope holds no Error. */
const apiSucceeded = (head: string, body: Buffer): boolean => head.startsWith('HTTP/1.1 200') && !body.includes('"Error":{');

/** The bytes of `POST path` with `headers` and a JSON `body`, for RawConnection.requestRaw. */
export function postBytes(port: number, path: string, headers: Record<string, string>, body: unknown): Buffer {
  const bytes = Buffer.from(JSON.stringify(body));
  const head = Object.entries({ Host: `127.0.0.1:${port}`, 'Content-Type': 'application/json', 'Content-Length': String(bytes.length), ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\n${head}\r\n`), bytes]);
}

const wires = new WeakMap<Call, Buffer>();
function wire(port: number, call: Call): Buffer {
  let w = wires.get(call);
  if (!w) {
    const head = Object.entries({ Host: `127.0.0.1:${port}`, ...call.headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    w = Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\n${head}\r\n`), call.body]);
    wires.set(call, w);
  }
  return w;
}

/** Latency percentiles and throughput of a run. */
export interface RunResult { requests: number; errors: number; seconds: number; rps: number; p50: number; p90: number; p99: number; max: number }

/** Percentiles and throughput of a run's latencies. */
export function summarise(latencies: number[], errors: number, seconds: number): RunResult {
  const sorted = Float64Array.from(latencies).sort();
  const pick = (q: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    requests: latencies.length, errors, seconds: round(seconds), rps: Math.round(latencies.length / seconds),
    p50: round(pick(0.5)), p90: round(pick(0.9)), p99: round(pick(0.99)), max: round(sorted[sorted.length - 1] ?? NaN),
  };
}

/** Closed loop: `connections` callers back to back for `seconds`. */
export function closedLoop(port: number, connections: number, seconds: number, next: () => Call): Promise<RunResult> {
  return closedLoopWith(port, connections, seconds, (c) => c.request(next()));
}

/** Closed loop of any request `step` makes on a connection (true: it succeeded). */
export async function closedLoopWith(port: number, connections: number, seconds: number, step: (c: RawConnection) => Promise<boolean>): Promise<RunResult> {
  const conns = Array.from({ length: connections }, () => new RawConnection(port));
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(conns.map(async (c) => {
    while (performance.now() < end) {
      const t0 = performance.now();
      if (await step(c)) latencies.push(performance.now() - t0); else errors++;
    }
  }));
  for (const c of conns) c.close();
  return summarise(latencies, errors, (performance.now() - start) / 1000);
}

/** Open loop: `rate` requests per second for `seconds`, latency counted from each scheduled time. */
export async function openLoop(port: number, rate: number, seconds: number, next: () => Call): Promise<RunResult> {
  const idle: RawConnection[] = [];
  const all: RawConnection[] = [];
  const latencies: number[] = [];
  let errors = 0;
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = start + i * interval;
    // Never early: a request goes at its scheduled time or (when the generator lags) later,
    // and its latency counts from the schedule.
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    let c = idle.pop();
    if (!c) { c = new RawConnection(port); all.push(c); }
    const conn = c;
    inflight.push(conn.request(next()).then((ok) => {
      if (ok) latencies.push(performance.now() - scheduled); else errors++;
      idle.push(conn);
    }));
  }
  await Promise.all(inflight);
  for (const c of all) c.close();
  return summarise(latencies, errors, (performance.now() - start) / 1000);
}
