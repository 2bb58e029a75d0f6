/**
 * A counting mail sink for runs of tens of thousands of messages: smtp-server on a loopback address
 * that accepts everything and keeps, per recipient, how many copies arrived (not the messages
 * themselves: a run's worth of raw mail would only cost memory). The count is the test's proof of
 * delivery, and of duplicates.
 */
import { SMTPServer } from 'smtp-server';
import { eventually } from './sending.js';

/** A running sink. */
export interface CountingSink {
  host: string;
  port: number;
  /** Copies received per recipient address. */
  copies: Map<string, number>;
  /** Messages received in all (a message to two recipients counts once). */
  messages(): number;
  /** Distinct recipients whose address starts with `prefix` (a letter) that got mail. */
  distinct(prefix: string): number;
  /** When (performance.now()) the first and the latest message arrived; 0 before any. */
  arrivals(): { first: number; last: number };
  /** Recipients that got more than one copy, and how many extra copies in all. */
  duplicates(): { recipients: string[]; extra: number };
  /** Resolves once every one of `recipients` got at least one copy; rejects with what is missing after the timeout. */
  waitForAll(recipients: Iterable<string>, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a sink on `host:port`. */
export async function startCountingSink(host: string, port: number): Promise<CountingSink> {
  const copies = new Map<string, number>();
  let messages = 0;
  const at = { first: 0, last: 0 };
  /** Distinct recipients by their first letter, counted as they arrive (tests poll this often). */
  const byLetter = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    size: 30 * 1024 * 1024,
    onData(stream, session, cb) {
      stream.on('data', () => {});
      stream.on('end', () => {
        messages++;
        at.last = performance.now();
        if (at.first === 0) at.first = at.last;
        for (const { address } of session.envelope.rcptTo) {
          const n = copies.get(address) ?? 0;
          copies.set(address, n + 1);
          if (n === 0) byLetter.set(address[0], (byLetter.get(address[0]) ?? 0) + 1);
        }
        cb(null, 'Queued');
      });
    },
  });
  // A client that vanishes (a killed worker) is part of these tests, not a failure of the sink.
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    host,
    port,
    copies,
    messages: () => messages,
    arrivals: () => ({ ...at }),
    distinct: (prefix) => byLetter.get(prefix) ?? 0,
    duplicates() {
      const recipients = [...copies].filter(([, n]) => n > 1).map(([r]) => r);
      return { recipients, extra: recipients.reduce((sum, r) => sum + copies.get(r)! - 1, 0) };
    },
    async waitForAll(recipients, timeoutMs) {
      const wanted = [...recipients];
      // What is still missing shrinks as mail arrives: each look costs what is left, not the whole list.
      let missing = wanted;
      try {
        await eventually(async () => (missing = missing.filter((r) => !copies.has(r))).length === 0, timeoutMs, 'every recipient to get its mail');
      } catch (e) {
        throw new Error(`${(e as Error).message}: ${missing.length} of ${wanted.length} missing, e.g. ${missing.slice(0, 5).join(', ')}`);
      }
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
