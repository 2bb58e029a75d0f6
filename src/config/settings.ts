/**
 * Setting kinds: each knows how to parse one environment string into a typed value and how to
 * describe what it allows, so that a bad value stops start-up with a message naming the setting.
 */

/** One setting of the schema: its environment name, default, meaning, and parser. */
export interface Setting<T> {
  readonly env: string;
  readonly description: string;
  /** Default as the user would write it (a string), or undefined when unset by default. */
  readonly defaultText: string | undefined;
  readonly defaultValue: T;
  /** What values are allowed, in words (for errors and docs). */
  readonly allowed: string;
  /** Secrets are masked by `sesame config` and never logged. */
  readonly secret: boolean;
  parse(raw: string): T;
}

/** Thrown by a parser; the loader adds the setting's name. */
export class SettingValueError extends Error {}

interface Common { description: string; secret?: boolean }

function make<T>(env: string, c: Common, allowed: string, defaultText: string | undefined, defaultValue: T, parse: (raw: string) => T): Setting<T> {
  return { env, description: c.description, defaultText, defaultValue, allowed, secret: c.secret ?? false, parse };
}

/** A TCP port; 0 asks the system for a free one (useful in tests). */
export function port(env: string, def: number, c: Common): Setting<number> {
  return make(env, c, 'a port number from 0 to 65535 (0: any free port)', String(def), def, (raw) => {
    const n = parseInteger(raw);
    if (n < 0 || n > 65535) throw new SettingValueError('out of range');
    return n;
  });
}

/** A non-negative integer, with an optional upper bound. */
export function integer(env: string, def: number, c: Common & { min?: number; max?: number }): Setting<number> {
  const min = c.min ?? 0;
  const allowed = c.max === undefined ? `an integer ≥ ${min}` : `an integer from ${min} to ${c.max}`;
  return make(env, c, allowed, String(def), def, (raw) => {
    const n = parseInteger(raw);
    if (n < min || (c.max !== undefined && n > c.max)) throw new SettingValueError('out of range');
    return n;
  });
}

/** Free text (with an optional check). */
export function text(env: string, def: string | undefined, c: Common & { allowed?: string; check?: (v: string) => boolean }): Setting<string | undefined> {
  return make<string | undefined>(env, c, c.allowed ?? 'any text', def, def, (raw) => {
    if (c.check && !c.check(raw)) throw new SettingValueError('not allowed');
    return raw;
  });
}

/** Text with a default, so never undefined. */
export function textWithDefault(env: string, def: string, c: Common & { allowed?: string; check?: (v: string) => boolean }): Setting<string> {
  return make(env, c, c.allowed ?? 'any text', def, def, (raw) => {
    if (c.check && !c.check(raw)) throw new SettingValueError('not allowed');
    return raw;
  });
}

/** One of a fixed list of words. */
export function oneOf<const V extends string>(env: string, values: readonly V[], def: V, c: Common): Setting<V> {
  return make(env, c, `one of ${values.join(', ')}`, def, def, (raw) => {
    if (!(values as readonly string[]).includes(raw)) throw new SettingValueError('not one of the allowed words');
    return raw as V;
  });
}

/** A boolean written as true/false, 1/0, yes/no, on/off. */
export function flag(env: string, def: boolean, c: Common): Setting<boolean> {
  return make(env, c, 'true or false', String(def), def, (raw) => {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new SettingValueError('not a boolean');
  });
}

/** A URL with one of the given schemes, unset by default. */
export function url(env: string, schemes: readonly string[], c: Common): Setting<URL | undefined> {
  return make<URL | undefined>(env, c, urlAllowed(schemes), undefined, undefined, (raw) => parseUrl(raw, schemes));
}

/** A URL with one of the given schemes and a default. */
export function urlWithDefault(env: string, schemes: readonly string[], def: string, c: Common): Setting<URL> {
  return make(env, c, urlAllowed(schemes), def, parseUrl(def, schemes), (raw) => parseUrl(raw, schemes));
}

const urlAllowed = (schemes: readonly string[]): string => `a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`;

function parseUrl(raw: string, schemes: readonly string[]): URL {
  let u: URL;
  try { u = new URL(raw); } catch { throw new SettingValueError('not a URL'); }
  if (!schemes.includes(u.protocol.replace(/:$/, ''))) throw new SettingValueError('wrong scheme');
  return u;
}

/** A comma-separated list, each item checked. */
export function list(env: string, def: readonly string[], c: Common & { item: string; check: (v: string) => boolean }): Setting<readonly string[]> {
  return make(env, c, `a comma-separated list of ${c.item}`, def.length ? def.join(',') : undefined, def, (raw) => {
    const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
    for (const it of items) if (!c.check(it)) throw new SettingValueError(`"${it}" is not ${c.item}`);
    return items;
  });
}

/** `Name=N,Name=N` pairs of a name and a non-negative integer (per-action overrides). */
export function numberMap(env: string, c: Common & { key: string; checkKey: (k: string) => boolean }): Setting<ReadonlyMap<string, number>> {
  return make<ReadonlyMap<string, number>>(env, c, `comma-separated ${c.key}=N pairs (N an integer ≥ 0)`, undefined, new Map(), (raw) => {
    const m = new Map<string, number>();
    for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      const eq = part.indexOf('=');
      if (eq < 1) throw new SettingValueError(`"${part}" is not ${c.key}=N`);
      const k = part.slice(0, eq).trim();
      if (!c.checkKey(k)) throw new SettingValueError(`"${k}" is not a known ${c.key}`);
      const n = parseInteger(part.slice(eq + 1));
      if (n < 0) throw new SettingValueError('negative');
      m.set(k, n);
    }
    return m;
  });
}

function parseInteger(raw: string): number {
  const t = raw.trim();
  if (!/^-?\d+$/.test(t)) throw new SettingValueError('not an integer');
  const n = Number(t);
  if (!Number.isSafeInteger(n)) throw new SettingValueError('too large');
  return n;
}

/** A setting with its own parser (for the few that fit no kind above). */
export function custom<T>(env: string, def: string, c: Common & { allowed: string; parse: (raw: string) => T }): Setting<T> {
  return make(env, c, c.allowed, def, c.parse(def), c.parse);
}
