/**
 * `npm run bench`: the API benchmark, the end-to-end sending benchmark, the SMTP intake benchmark
 * and the batch benchmark (BENCH=api, send, smtp or batch runs one). Each prints its figures;
 * docs/PERFORMANCE.md records them.
 */
import { apiBenchmark } from './api.js';
import { batchBenchmark } from './batch.js';
import { sendBenchmark } from './send.js';
import { smtpBenchmark } from './smtp.js';

async function main(): Promise<void> {
  const which = (process.env.BENCH ?? 'api,send,smtp,batch').split(',');
  if (which.includes('api')) await apiBenchmark();
  if (which.includes('send')) await sendBenchmark();
  if (which.includes('smtp')) await smtpBenchmark();
  if (which.includes('batch')) await batchBenchmark();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
