/**
 * One request cannot stop the others. Node answers every tenant from one event loop, so a parameter
 * that makes a check run for minutes (a backtracking pattern over a megabyte) stops the whole
 * service. The server runs as a child process here: a blocked event loop in the test's own process
 * would stop the test's timers too, and the test would hang instead of failing.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestEnv } from './helpers/app.js';
import { printedCredentials, startServe } from './helpers/process.js';
import { tc3Headers, type RawResponse } from './helpers/raw.js';
import { sdkClient } from './helpers/sdk.js';
import { within } from './helpers/sending.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** POSTs `body`; `written` resolves once the whole body has been handed to the connection. */
function post(url: string, headers: Record<string, string>, body: Buffer): { written: Promise<void>; answered: Promise<RawResponse['json']> } {
  let written!: () => void;
  const writtenP = new Promise<void>((resolve) => { written = resolve; });
  const answered = new Promise<RawResponse['json']>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(body.length) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as RawResponse['json']));
    });
    // The server may be killed with the request still open (when this test fails).
    req.on('error', reject);
    req.end(body, written);
  });
  answered.catch(() => undefined);
  return { written: writtenP, answered };
}

describe('a huge parameter', () => {
  it('is refused while the server keeps answering everyone else', async () => {
    const e = await createTestEnv('sqlite');
    cleanups.push(() => e.cleanup());
    const s = await startServe(e.env, ['--roles', 'api']);
    cleanups.push(() => s.kill('SIGKILL'));
    const creds = printedCredentials(s.output())!;
    const other = sdkClient('v4:TC3', `127.0.0.1:${s.port}`, creds);
    // Warm the probe's path (first key lookup, first query) so its latency below is the server's load alone.
    await other('ListEmailTemplates', { Limit: 10, Offset: 0 });

    const url = `http://127.0.0.1:${s.port}/`;
    const body = Buffer.from(JSON.stringify({
      FromEmailAddress: `a${' '.repeat(1_000_000)}b`,
      Destination: ['someone@example.test'],
      Subject: 'hello',
      Template: { TemplateID: 1, TemplateData: '{}' },
    }));
    const big = post(url, tc3Headers({ url, action: 'SendEmail', body, secretId: creds.SecretId, secretKey: creds.SecretKey }), body);
    await big.written;

    // Other requests, one after another from the moment the big one is all on the wire (so the
    // server is reading or checking it) until it is answered: each must be answered promptly.
    let bigDone = false;
    big.answered.then(() => { bigDone = true; }, () => { bigDone = true; });
    const start = performance.now();
    const latencies: number[] = [];
    do {
      const sent = performance.now();
      const listed = await within(other('ListEmailTemplates', { Limit: 10, Offset: 0 }), 5_000);
      expect(listed, 'another request got no answer within 5 s').not.toBe('timeout');
      latencies.push(performance.now() - sent);
    } while (!bigDone && performance.now() - start < 5_000);
    // A check that backtracks over the megabyte holds the loop for minutes; a second is room for a loaded machine.
    expect(Math.max(...latencies)).toBeLessThan(1_000);

    const answer = await within(big.answered, 5_000);
    expect(answer, 'the big request got no answer within 5 s').not.toBe('timeout');
    if (answer === 'timeout') return;
    expect(answer.Response.Error?.Code).toBe('InvalidParameterValue');
    expect(answer.Response.Error?.Message).toContain('FromEmailAddress');
  });
});
