/**
 * Reads the configuration from the environment (and an optional JSON file named by SESAME_CONFIG),
 * validates every setting, and fails with one message listing every bad one, before anything listens.
 */
import { readFileSync } from 'node:fs';
import { SCHEMA, type Config } from './schema.js';
import { SettingValueError, type Setting } from './settings.js';

/** A configuration that cannot be used; the message names each bad setting and what it allows. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;
const KEYS = Object.keys(SCHEMA) as (keyof typeof SCHEMA)[];
const settingOf = (k: keyof typeof SCHEMA): Setting<unknown> => SCHEMA[k] as Setting<unknown>;

/** Builds the effective configuration: environment over file over defaults. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const fileValues = readConfigFile(env.SESAME_CONFIG, problems);
  const out: Record<string, unknown> = {};
  for (const key of KEYS) {
    const s = settingOf(key);
    const raw = env[s.env] ?? fileValues.get(s.env);
    if (raw === undefined || raw === '') { out[key] = s.defaultValue; continue; }
    try {
      out[key] = s.parse(raw);
    } catch (e) {
      if (!(e instanceof SettingValueError)) throw e;
      const shown = s.secret ? '(hidden)' : JSON.stringify(raw);
      problems.push(`${s.env}=${shown} is not allowed (${e.message}): expected ${s.allowed}.`);
    }
  }
  if (problems.length === 0) crossChecks(out as Config, problems);
  if (problems.length) throw new ConfigError(problems);
  return out as Config;
}

function readConfigFile(path: string | undefined, problems: string[]): Map<string, string> {
  const values = new Map<string, string>();
  if (!path) return values;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    problems.push(`SESAME_CONFIG=${JSON.stringify(path)} cannot be read as JSON: ${(e as Error).message}`);
    return values;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`SESAME_CONFIG=${JSON.stringify(path)} must hold a JSON object of setting names to values.`);
    return values;
  }
  const known = new Set(KEYS.map((k) => settingOf(k).env));
  for (const [k, v] of Object.entries(parsed)) {
    if (!known.has(k)) { problems.push(`${k} in ${path} is not a setting (see docs/CONFIG.md).`); continue; }
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      problems.push(`${k} in ${path} must be a string, number or boolean.`);
      continue;
    }
    values.set(k, String(v));
  }
  return values;
}

function crossChecks(c: Config, problems: string[]): void {
  if (Boolean(c.secretId) !== Boolean(c.secretKey)) {
    problems.push('SESAME_SECRET_ID and SESAME_SECRET_KEY must be set together (or neither).');
  }
  if (Boolean(c.tlsCert) !== Boolean(c.tlsKey)) {
    problems.push('SESAME_TLS_CERT and SESAME_TLS_KEY must be set together (or neither).');
  }
  if (c.delivery === 'relay' && !c.relayUrl) {
    problems.push('SESAME_DELIVERY=relay needs SESAME_RELAY_URL (smtp://user:pass@host:port).');
  }
}

/** The effective configuration as environment names and printable values, secrets masked. */
export function describeConfig(c: Config): { env: string; value: string; isDefault: boolean }[] {
  return KEYS.map((key) => {
    const s = settingOf(key);
    const v = c[key];
    const text = printable(v);
    const isDefault = text === printable(s.defaultValue);
    return { env: s.env, value: s.secret && v !== undefined ? mask(v) : text, isDefault };
  });
}

function printable(v: unknown): string {
  if (v === undefined) return '';
  if (v instanceof URL) return v.href;
  if (v instanceof Map) return [...v].map(([k, n]) => `${k}=${String(n)}`).join(',');
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'object' && v !== null && 'kind' in v) {
    const q = v as { kind: string; perDay?: number };
    return q.kind === 'fixed' ? String(q.perDay) : q.kind;
  }
  return String(v);
}

/** URLs keep their host so the operator can see where they point; everything else is hidden. */
function mask(v: unknown): string {
  if (v instanceof URL) {
    const u = new URL(v.href);
    if (u.password) u.password = '****';
    return u.href;
  }
  return '********';
}
