/** A render thread: composes and signs what the main thread sends, and sends the bytes back. */
import { parentPort } from 'node:worker_threads';
import { renderMessage } from './render.js';
import type { RenderJob } from './render-pool.js';

parentPort?.on('message', (m: { id: number; job: RenderJob }) => {
  renderMessage(m.job.content, m.job.keys, m.job.links).then(
    (message) => {
      // A fresh buffer of its own, so it can be handed over without copying.
      const out = new Uint8Array(message.length);
      out.set(message);
      parentPort?.postMessage({ id: m.id, message: out }, [out.buffer]);
    },
    (err: unknown) => parentPort?.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
