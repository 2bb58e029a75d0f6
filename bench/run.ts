/**
 * `npm run bench`: the API benchmark, the end-to-end sending benchmark and the SMTP intake
 * benchmark (BENCH=api, BENCH=send or BENCH=smtp runs one). Each prints its figures;
 * docs/PERFORMANCE.md records them.
 */
import { apiBenchmark } from './api.js';
import { sendBenchmark } from './send.js';
import { smtpBenchmark } from './smtp.js';

async function main(): Promise<void> {
  const which = (process.env.BENCH ?? 'api,send,smtp').split(',');
  if (which.includes('api')) await apiBenchmark();
  if (which.includes('send')) await sendBenchmark();
  if (which.includes('smtp')) await smtpBenchmark();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
