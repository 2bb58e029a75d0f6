/**
 * `npm run bench`: the API benchmark, then the end-to-end sending benchmark (BENCH=api or
 * BENCH=send runs one). Each prints its figures; docs/PERFORMANCE.md records them.
 */
import { apiBenchmark } from './api.js';
import { sendBenchmark } from './send.js';

async function main(): Promise<void> {
  const which = (process.env.BENCH ?? 'api,send').split(',');
  if (which.includes('api')) await apiBenchmark();
  if (which.includes('send')) await sendBenchmark();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
