/**
 * Postfix's smtp-sink on 127.0.0.2, the receiving end of every sending benchmark: it accepts every
 * message as fast as it can and counts them (`-c`), so a benchmark can tell what was received.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../test/helpers/mx.js';

/** A running smtp-sink. */
export interface Sink {
  port: number;
  process: ChildProcess;
  /** Messages received so far (each one whose final `.` the sink answered). */
  received(): number;
  /** Resolves with the time (performance.now()) at which `n` messages had been received; rejects after `idleMs` without a new one. */
  waitFor(n: number, idleMs?: number): Promise<number>;
  stop(): Promise<void>;
}

/** Starts smtp-sink at a free port of 127.0.0.2. */
export async function startSink(): Promise<Sink> {
  const port = await freePort();
  // -c: after each session, QUIT and message it writes "sess=… quit=… mesg=…\r" to stdout.
  const child = spawn('smtp-sink', ['-c', '-u', 'root', `127.0.0.2:${port}`, '2048'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let received = 0;
  let lastAt = performance.now();
  const waiters: { n: number; resolve: (at: number) => void }[] = [];
  let tail = '';
  child.stdout!.setEncoding('latin1').on('data', (chunk: string) => {
    const text = tail + chunk;
    const i = text.lastIndexOf('mesg=');
    tail = text.slice(-40);
    const m = /^mesg=(\d+)\r/.exec(text.slice(i));
    if (i < 0 || !m || Number(m[1]) === received) return;
    received = Number(m[1]);
    lastAt = performance.now();
    for (const w of waiters.splice(0)) {
      if (received >= w.n) w.resolve(lastAt); else waiters.push(w);
    }
  });
  return {
    port,
    process: child,
    received: () => received,
    waitFor(n: number, idleMs = 60_000): Promise<number> {
      if (received >= n) return Promise.resolve(lastAt);
      return new Promise((resolve, reject) => {
        const waiter = { n, resolve: (at: number) => { clearInterval(watch); resolve(at); } };
        const watch = setInterval(() => {
          if (performance.now() - lastAt < idleMs && child.exitCode === null) return;
          clearInterval(watch);
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`smtp-sink received ${received} of ${n} messages, then nothing for ${idleMs / 1000} s`));
        }, 1000);
        waiters.push(waiter);
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
