/** A render thread: composes and signs what the main thread sends, and sends the bytes back. */
import { parentPort, workerData } from 'node:worker_threads';
import { TrackingTokens } from '../lib/tracking-tokens.js';
import { renderJob, type RenderJob } from './render-pool.js';

const key = (workerData as { trackingKey: Uint8Array | null } | null)?.trackingKey;
const tokens = key ? new TrackingTokens(Buffer.from(key)) : null;

parentPort?.on('message', (m: { id: number; job: RenderJob }) => {
  const started = performance.now();
  const busyMs = (): number => performance.now() - started;
  renderJob(m.job, tokens).then(
    (message) => {
      // A fresh buffer of its own, so it can be handed over without copying.
      const out = new Uint8Array(message.length);
      out.set(message);
      parentPort?.postMessage({ id: m.id, message: out, busyMs: busyMs() }, [out.buffer]);
    },
    (err: unknown) => parentPort?.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err), busyMs: busyMs() }),
  );
});
