/** Running an action from a screen: its result, its error (Tencent's code and message), and a way to run it again. */
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
