/**
 * The API benchmark: starts the built server on SQLite in a temporary data folder, creates a
 * benchmark account without rate limits, and drives it from this (separate) process over
 * keep-alive connections with TC3-signed requests. Prints throughput, latency percentiles and the
 * server's peak RSS. Durations: BENCH_SECONDS (default 10) per run.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { freePort } from '../test/helpers/mx.js';
import { closedLoop, openLoop, send, signCall, type Creds, type RunResult } from './load.js';
import { peakRss, ROOT, waitForHealth } from './server.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

/** Runs the API benchmark and prints its figures. */
export async function apiBenchmark(): Promise<void> {
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

const b64 = (s: string): string => Buffer.from(s).toString('base64');

