/**
 * `npm run bench`: starts the built server on SQLite in a temporary data folder, creates a
 * benchmark account without rate limits, and drives it from this (separate) process over
 * keep-alive connections with TC3-signed requests. Prints throughput, latency percentiles and the
 * server's peak RSS. Durations: BENCH_SECONDS (default 10) per run.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, get } from 'node:http';
import { closedLoop, openLoop, send, signCall, type Creds, type RunResult } from './load.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-'));
  const port = await freePort();
  const env = { ...process.env, SESAME_DATA_DIR: dir, SESAME_HTTP_PORT: String(port), SESAME_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', SESAME_TEMPLATE_LIMIT: '10000000' };
  const cli = join(ROOT, 'dist/cli/main.js');
  const server = spawn(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : []), cli, 'serve', '--roles', 'api'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let logBytes = 0;
  server.stdout.on('data', (c: Buffer) => { logBytes += c.length; });
  await waitForHealth(port, server);
  try {
    const creds = JSON.parse(execFileSync(process.execPath, [cli, 'account', 'create', '--name', 'bench', '--rate-limit', '0'], { env }).toString()) as Creds;
    const agent = new Agent({ keepAlive: true });
    for (let i = 0; i < 20; i++) {
      await send(port, agent, signCall(port, creds, 'CreateEmailTemplate', { TemplateName: `seed ${i}`, TemplateContent: { Html: b64(`<p>Hello {{name}} ${i}</p>`), Text: b64(`Hello {{name}} ${i}`) } }));
    }
    agent.destroy();
    const list = (): ReturnType<typeof signCall> => signCall(port, creds, 'ListEmailTemplates', { Limit: 10, Offset: 0 });
    let n = 0;
    const create = (): ReturnType<typeof signCall> => signCall(port, creds, 'CreateEmailTemplate', {
      TemplateName: `bench ${n++}`, TemplateContent: { Html: b64('<p>Hi {{name}}, your order {{order}} shipped.</p>'), Text: b64('Hi {{name}}, your order {{order}} shipped.') },
    });

    await closedLoop(port, CONNECTIONS, 2, list); // warm-up
    const results: Record<string, RunResult> = {};
    results['ListEmailTemplates, saturation'] = await closedLoop(port, CONNECTIONS, SECONDS, list);
    results['ListEmailTemplates, 1000 req/s'] = await openLoop(port, 1000, SECONDS, list);
    results['CreateEmailTemplate, saturation'] = await closedLoop(port, CONNECTIONS, SECONDS, create);
    results['CreateEmailTemplate, 1000 req/s'] = await openLoop(port, 1000, SECONDS, create);
    const peakRssMb = peakRss(server.pid!);

    console.log(`\nSesame API benchmark — ${new Date().toISOString()} — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
    console.log(`SQLite store, log level ${env.SESAME_LOG_LEVEL}, ${CONNECTIONS} keep-alive connections for saturation, ${SECONDS} s per run\n`);
    console.log('| run | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [name, r] of Object.entries(results)) {
      console.log(`| ${name} | ${r.requests} | ${r.errors} | ${r.rps} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.max} |`);
    }
    console.log(`\nServer peak RSS: ${peakRssMb} MB; log written: ${Math.round(logBytes / 1024)} KB`);
    console.log(JSON.stringify({ date: new Date().toISOString(), results, peakRssMb }));
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once /healthz answers 200 (polling, since the log level may hide the start line). */
async function waitForHealth(port: number, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`server exited with ${server.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => { res.resume(); resolve(res.statusCode === 200); })
        .on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error('server did not become healthy');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The process's peak resident set size (VmHWM), in MB. */
function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
