/**
 * Trying a store write again while the store fails (a restart, a lost connection): pauses that
 * double from `firstMs` up to `maxMs`, for `forMs` in all, or until the caller gives up.
 */

/** How long to keep trying, and the pauses between tries. */
export interface RetryPolicy { forMs: number; firstMs: number; maxMs: number }

/** What the caller says along the way. */
export interface RetryHooks {
  /** True when no more tries should be made (the caller is stopping); the last failure is thrown. */
  giveUp(): boolean;
  /** Told of each failure that will be tried again, and the pause before it. */
  onRetry(err: unknown, pauseMs: number): void;
  /** Waits out a pause (a caller that stops may cut it short); a plain timer by default. */
  wait?(ms: number): Promise<void>;
}

/** Runs `attempt` until it succeeds; throws its last failure once the policy or the caller gives up. */
export async function retrying<T>(attempt: () => Promise<T>, p: RetryPolicy, hooks: RetryHooks): Promise<T> {
  const giveUpAt = Date.now() + p.forMs;
  for (let pause = p.firstMs; ; pause = Math.min(2 * pause, p.maxMs)) {
    try {
      return await attempt();
    } catch (err) {
      if (hooks.giveUp() || Date.now() + pause > giveUpAt) throw err;
      hooks.onRetry(err, pause);
      await (hooks.wait ? hooks.wait(pause) : new Promise<void>((r) => setTimeout(r, pause)));
    }
  }
}
