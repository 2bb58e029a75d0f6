/**
 * CPU meters of a benchmark run: what its server, load generator and sink used, the kernel
 * threads (writeback, journaling, softirq), and what other work took of the machine meanwhile.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { childrenCpuSeconds, cpuSeconds } from './server.js';

/**
 * Where a run's CPU went, in ms per message: the server's, the load generator's, the sink's, the
 * kernel threads' (writeback of what was fsynced, journaling, softirq); and the share of all cores
 * that other work took meanwhile.
 */
export interface CpuUse { cpuMsPerMessage: number; generatorCpuMsPerMessage: number; sinkCpuMsPerMessage: number; kernelCpuMsPerMessage: number; othersShare: number }

/** Seconds the machine's cores have been busy (every process, the kernel's interrupts), from /proc/stat. */
function machineBusySeconds(): number {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** Kernel threads (kthreadd, PID 2, and its children): CPU seconds. */
const kernelThreadsCpuSeconds = (): number => cpuSeconds(2) + childrenCpuSeconds(2);

/**
 * Meters started now over a run's server, load generator and sink (each reads its CPU seconds so
 * far) and the kernel threads. What the machine was busy with beyond them is other work (another
 * session's tests or profiler), plus what per-process accounting misses: on a quiet machine here
 * 4% of the cores in Postfix's runs of 10,000 (a tenth in short ones), none in Sesame's. A run
 * where it takes more than a quarter (compare.ts's DISTURBED) was shared with other work: its
 * figures are not to be recorded.
 */
export function cpuMeters(server: () => number, generator: () => number, sink: () => number): (messages: number) => CpuUse {
  const read = (): number[] => [server(), generator(), sink(), kernelThreadsCpuSeconds(), machineBusySeconds()];
  const before = read();
  const start = performance.now();
  return (messages) => {
    const [s, g, k, kernel, busy] = read().map((x, i) => x - before[i]);
    const ms = (x: number): number => round2((x * 1000) / messages);
    const others = Math.max(0, busy - s - g - k - kernel) / (((performance.now() - start) / 1000) * cpus().length);
    // Kernel threads come and go (kworkers): one that ended during the run takes its time with it, so
    // the difference can come out below zero; it is at least nothing.
    return { cpuMsPerMessage: ms(s), generatorCpuMsPerMessage: ms(g), sinkCpuMsPerMessage: ms(k), kernelCpuMsPerMessage: ms(Math.max(0, kernel)), othersShare: round2(others) };
  };
}

/** `x` to two decimals, as the benchmarks print their figures. */
export const round2 = (x: number): number => Math.round(x * 100) / 100;
