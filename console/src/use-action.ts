/** Running actions from a screen: a loaded result with its error (Tencent's code and message) and a way to load it again; work whose outcome the screen shows. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { action, ApiError, type Session } from './api.js';

/** The text of an error as the console shows it: `Code: message`. */
export function errorText(e: unknown): string {
  return e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
}

/** Loads `name` with `params` now and whenever `reload` is called; `data` is null while loading. */
export function useAction<T>(session: Session, name: string, params: Record<string, unknown>, deps: unknown[] = []): { data: T | null; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    action<T>(session, name, params).then((r) => { if (live) { setData(r); setError(null); } }, (e: unknown) => { if (live) setError(errorText(e)); });
    return () => { live = false; };
  }, [session, name, tick, ...deps]);
  return { data, error, reload: useCallback(() => setTick((n) => n + 1), []) };
}

/**
 * A screen's notice and the way to run what sets it: `attempt(work)` shows what `work` answers (a
 * sentence of success, or nothing) once it succeeds, and the error's code and message when it fails.
 */
export function useAttempt(): { notice: string | null; attempt: (work: () => Promise<string | void>) => Promise<void> } {
  const [notice, setNotice] = useState<string | null>(null);
  const attempt = useCallback(async (work: () => Promise<string | void>) => {
    try {
      setNotice((await work()) ?? null);
    } catch (e) {
      setNotice(errorText(e));
    }
  }, []);
  return { notice, attempt };
}
