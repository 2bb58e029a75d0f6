/**
 * The API benchmark: starts the built server on SQLite in a temporary data folder, creates a
 * benchmark account without rate limits, and drives it from this (separate) process over
 * keep-alive connections with TC3-signed requests. Prints throughput, latency percentiles and the
 * server's peak RSS. Durations: BENCH_SECONDS (default 10) per run.
 */
import { Agent } from 'node:http';
import { closedLoop, openLoop, send, signCall, type RunResult } from './load.js';
import { machine, peakRss, startApiServer } from './server.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

/** Runs the API benchmark and prints its figures. */
export async function apiBenchmark(): Promise<void> {
  const api = await startApiServer({ SESAME_TEMPLATE_LIMIT: '10000000' });
  const { port, env, creds } = api;
  try {
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
    const peakRssMb = peakRss(api.server.pid!);

    console.log(`\nSesame API benchmark — ${new Date().toISOString()} — ${machine()}`);
    console.log(`SQLite store, log level ${env.SESAME_LOG_LEVEL}, ${CONNECTIONS} keep-alive connections for saturation, ${SECONDS} s per run\n`);
    console.log('| run | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [name, r] of Object.entries(results)) {
      console.log(`| ${name} | ${r.requests} | ${r.errors} | ${r.rps} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.max} |`);
    }
    console.log(`\nServer peak RSS: ${peakRssMb} MB; log written: ${Math.round(api.logBytes() / 1024)} KB`);
    console.log(JSON.stringify({ date: new Date().toISOString(), results, peakRssMb }));
  } finally {
    await api.stop();
  }
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

