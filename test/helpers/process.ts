/**
 * Runs the real `sesame` command (from the TypeScript sources, through tsx) as a child process,
 * and waits for what it prints, never for a fixed time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/** A finished command. */
export interface CliResult { code: number | null; stdout: string; stderr: string }

/**
 * Runs `sesame <args>` to completion. One still running after `timeoutMs` (a `serve` that should
 * have refused to start, say) is killed and reported as a failure, never left behind.
 */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sesame ${args.join(' ')} still ran after ${timeoutMs} ms; output:\n${stdout}${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** A running `sesame serve`. */
export interface Served {
  child: ChildProcess;
  port: number;
  output(): string;
  /** Resolves when a line matching `pattern` has been printed. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `sesame serve` and resolves once it prints `ready` (by default: its "ready" log line, after every role started), or
 * rejects with what it printed if it exits first.
 */
export async function startServe(env: Record<string, string>, args: string[] = [], ready = /"msg":"ready"/): Promise<Served> {
  const child = spawn(process.execPath, [...CLI, 'serve', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  let out = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onText = (c: Buffer): void => {
    out += c.toString();
    for (const w of [...waiters]) {
      const line = out.split('\n').find((l) => w.pattern.test(l));
      if (line !== undefined) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
    }
  };
  child.stdout.on('data', onText);
  child.stderr.on('data', onText);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp, timeoutMs = 20_000): Promise<string> => new Promise((resolve, reject) => {
    const line = out.split('\n').find((l) => pattern.test(l));
    if (line !== undefined) { resolve(line); return; }
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output:\n${out}`)), timeoutMs);
    waiters.push({ pattern, resolve: (l) => { clearTimeout(timer); resolve(l); } });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`sesame exited (${code}) before ${pattern}; output:\n${out}`)); });
  });
  try {
    await waitFor(ready);
  } catch (e) {
    // Never left running by a start that failed or hung.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    throw e;
  }
  const listening = out.split('\n').find((l) => l.includes('"msg":"HTTP API listening"'));
  const port = listening ? (JSON.parse(listening) as { port: number }).port : 0;
  return {
    child,
    port,
    output: () => out,
    waitFor,
    exited,
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The one-time credentials line printed at the first start. */
export function printedCredentials(output: string): { AppId: number; SecretId: string; SecretKey: string } | undefined {
  const line = output.split('\n').find((l) => l.startsWith('{"AppId"'));
  return line ? (JSON.parse(line) as { AppId: number; SecretId: string; SecretKey: string }) : undefined;
}
