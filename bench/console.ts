/**
 * The console benchmark: the size of the built console (what a browser downloads, raw and
 * gzipped), how fast the api role serves its page and script, and what an action costs through
 * the console's API (session cookie, CSRF token, JSON) against the same action signed with TC3.
 * The built server, api role, SQLite. BENCH_SECONDS (default 10) per run.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { closedLoop, closedLoopWith, postBytes, signCall, type RunResult } from './load.js';
import { machine, peakRss, ROOT, startApiServer } from './server.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ASSETS = join(ROOT, 'dist/console-ui');

/** Runs the benchmark and prints its figures. */
export async function consoleBenchmark(): Promise<void> {
  const files = ['index.html', ...readdirSync(join(ASSETS, 'assets')).map((f) => `assets/${f}`)];
  const sizes = files.map((f) => {
    const bytes = readFileSync(join(ASSETS, f));
    return { file: f, raw: statSync(join(ASSETS, f)).size, gzip: gzipSync(bytes, { level: 9 }).length };
  });
  const script = files.find((f) => f.endsWith('.js'))!;

  const api = await startApiServer();
  try {
    const { port, creds } = api;
    const signIn = await fetch(`http://127.0.0.1:${port}/console/api/sign-in`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(creds) });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
    const csrf = String(((await signIn.json()) as { Response: { CsrfToken: string } }).Response.CsrfToken);
    const params = { Limit: 10, Offset: 0 };
    const viaConsole = postBytes(port, '/console/api/action', { Cookie: cookie, 'X-CSRF-Token': csrf }, { Action: 'ListEmailTemplates', Params: params });

    await closedLoop(port, CONNECTIONS, 2, () => signCall(port, creds, 'ListEmailTemplates', params)); // warm-up
    const results: Record<string, RunResult> = {};
    results['ListEmailTemplates, TC3-signed'] = await closedLoop(port, CONNECTIONS, SECONDS, () => signCall(port, creds, 'ListEmailTemplates', params));
    results['ListEmailTemplates, console session'] = await closedLoopWith(port, CONNECTIONS, SECONDS, (c) => c.requestRaw(viaConsole));
    results['GET /console/ (the page)'] = await closedLoopWith(port, CONNECTIONS, SECONDS, (c) => c.get('/console/', {}, 200));
    results[`GET /console/${script} (gzip)`] = await closedLoopWith(port, CONNECTIONS, SECONDS, (c) => c.get(`/console/${script}`, { 'Accept-Encoding': 'gzip' }, 200));
    const peakRssMb = peakRss(api.server.pid!);

    console.log(`\nSesame console benchmark — ${new Date().toISOString()} — ${machine()}`);
    console.log(`SQLite store, api role, ${CONNECTIONS} keep-alive connections, ${SECONDS} s per run\n`);
    console.log('| file | bytes | gzipped |');
    console.log('|---|---|---|');
    for (const s of sizes) console.log(`| ${s.file} | ${s.raw} | ${s.gzip} |`);
    console.log(`| total | ${sizes.reduce((n, s) => n + s.raw, 0)} | ${sizes.reduce((n, s) => n + s.gzip, 0)} |\n`);
    console.log('| run | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [name, r] of Object.entries(results)) console.log(`| ${name} | ${r.requests} | ${r.errors} | ${r.rps} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.max} |`);
    console.log(`\nServer peak RSS: ${peakRssMb} MB`);
    console.log(JSON.stringify({ date: new Date().toISOString(), sizes, results, peakRssMb }));
  } finally {
    await api.stop();
  }
}
