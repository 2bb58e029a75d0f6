/**
 * `npm run bench`: the API benchmark, the end-to-end sending benchmark, the SMTP intake benchmark,
 * the batch benchmark, the retention benchmark and the feedback benchmark (tracking, statistics,
 * DSN intake), the webhook benchmark, the console benchmark, and worker processes on PostgreSQL
 * (BENCH=api, send, smtp, batch, retention, feedback, webhooks, console or cluster runs one). Each prints its figures; docs/PERFORMANCE.md records them.
 */
import { apiBenchmark } from './api.js';
import { clusterBenchmark } from './cluster-workers.js';
import { consoleBenchmark } from './console.js';
import { batchBenchmark } from './batch.js';
import { feedbackBenchmark } from './feedback.js';
import { webhookBenchmark } from './webhooks.js';
import { retentionBenchmark } from './retention.js';
import { sendBenchmark } from './send.js';
import { smtpBenchmark } from './smtp.js';

async function main(): Promise<void> {
  const which = (process.env.BENCH ?? 'api,send,smtp,batch,retention,feedback,webhooks,console,cluster').split(',');
  if (which.includes('api')) await apiBenchmark();
  if (which.includes('send')) await sendBenchmark();
  if (which.includes('smtp')) await smtpBenchmark();
  if (which.includes('batch')) await batchBenchmark();
  if (which.includes('retention')) await retentionBenchmark();
  if (which.includes('feedback')) await feedbackBenchmark();
  if (which.includes('webhooks')) await webhookBenchmark();
  if (which.includes('console')) await consoleBenchmark();
  if (which.includes('cluster')) await clusterBenchmark();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
