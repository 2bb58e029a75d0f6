/**
 * Turns request parameters into the typed request of an action, from the one declaration of its
 * model: JSON bodies (TC3) and flattened `Name.0` / `Name.Field` pairs (form, query) decode into
 * the same object. Every error names the parameter and what was wrong.
 *
 * The schema bounds every string and every list (src/schema/limits.ts), and the bounds are checked
 * here, before any service parses a value: no pattern, scan or JSON parse downstream ever runs over
 * more than its field's bound, however large the body.
 */
import { CodedError } from '../../errors/coded-error.js';
import type { FieldSpec } from '../../schema/ses.js';
import { MODELS, type ModelName } from '../../schema/actions.js';

const missing = (path: string): CodedError =>
  new CodedError('MissingParameter', `The required parameter ${path} is missing.`);
const unknown = (path: string, action: string): CodedError =>
  new CodedError('UnknownParameter', `${action} has no parameter named ${path}.`);
const invalid = (path: string, what: string): CodedError =>
  new CodedError('InvalidParameterValue', `${path} ${what}.`);

/** Decodes a parsed JSON body against the request model. */
export function decodeJsonParams(body: unknown, model: ModelName, action: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CodedError('InvalidParameter', 'The request body must be a JSON object of parameters.');
  }
  return checkModel(body as Record<string, unknown>, model, '', action, false);
}

/** Decodes flattened string parameters (`Destination.0`, `Template.TemplateID`) against the request model. */
export function decodeFlatParams(entries: ReadonlyMap<string, string>, model: ModelName, action: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of entries) insertFlat(root, key.split('.'), value, model, action, key);
  return checkModel(root, model, '', action, true);
}

/** Places one flattened value into a nested object, checking each step against the schema. */
function insertFlat(root: Record<string, unknown>, segments: string[], value: string, model: ModelName, action: string, key: string): void {
  let node: Record<string, unknown> | Map<number, unknown> = root;
  let fields: readonly FieldSpec[] | null = MODELS[model];
  let field: FieldSpec | null = null;
  let expectIndex = false;
  let path = '';
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    let slot: string | number;
    if (expectIndex && field) {
      if (!/^\d+$/.test(seg)) throw invalid(path, `is a list: expected ${path}.0, ${path}.1, … but got ${key}`);
      const index = Number(seg);
      // Refused before anything is built, so `Emails.99999999=x` stays cheap.
      const max = maxItemsOf(field, path);
      if (index >= max) throw invalid(key, `is beyond the ${max} items ${path} may hold`);
      slot = index;
      path = `${path}.${seg}`;
      expectIndex = false;
      // The element is a scalar or a model, per the same field.
      fields = field.model ? MODELS[field.model] : null;
    } else {
      const f: FieldSpec | undefined = fields?.find((x) => x.name === seg);
      if (!f) throw unknown(path ? `${path}.${seg}` : seg, action);
      field = f;
      slot = seg;
      path = path ? `${path}.${seg}` : seg;
      expectIndex = f.array;
      fields = f.model && !f.array ? MODELS[f.model] : null;
    }
    const container = node;
    const get = (): unknown => (container instanceof Map ? container.get(slot as number) : container[slot as string]);
    const set = (v: unknown): void => { if (container instanceof Map) container.set(slot as number, v); else container[slot as string] = v; };
    if (last) {
      if (expectIndex || fields) throw invalid(path, `needs sub-parameters (${path}.…), not a single value`);
      if (get() !== undefined) throw new CodedError('InvalidParameter', `${path} is given more than once.`);
      set(value);
      return;
    }
    let next = get();
    if (next === undefined) {
      next = expectIndex ? new Map<number, unknown>() : {};
      set(next);
    } else if (typeof next === 'string') {
      throw new CodedError('InvalidParameter', `${path} is given both as a value and with sub-parameters.`);
    }
    node = next as Record<string, unknown> | Map<number, unknown>;
  }
}

function checkModel(obj: Record<string, unknown>, model: ModelName, prefix: string, action: string, fromText: boolean): Record<string, unknown> {
  const fields = MODELS[model];
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    if (!fields.some((f) => f.name === key)) throw unknown(prefix + key, action);
  }
  for (const f of fields) {
    const path = prefix + f.name;
    const raw = obj[f.name];
    if (raw === undefined || raw === null) {
      if (f.required) throw missing(path);
      continue;
    }
    out[f.name] = f.array ? checkArray(raw, f, path, action, fromText) : checkValue(raw, f, path, action, fromText);
  }
  return out;
}

function checkArray(raw: unknown, f: FieldSpec, path: string, action: string, fromText: boolean): unknown[] {
  let items: unknown[];
  if (raw instanceof Map) {
    items = [...raw.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  } else if (Array.isArray(raw)) {
    items = raw;
  } else {
    throw invalid(path, 'must be a list');
  }
  const max = maxItemsOf(f, path);
  if (items.length > max) throw invalid(path, `holds ${items.length} items; at most ${max} are allowed`);
  return items.map((v, i) => {
    if (v === null || v === undefined) throw invalid(`${path}.${i}`, 'must not be null');
    return checkValue(v, f, `${path}.${i}`, action, fromText);
  });
}

function checkValue(v: unknown, f: FieldSpec, path: string, action: string, fromText: boolean): unknown {
  if (f.model) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Map) throw invalid(path, 'must be an object');
    return checkModel(v as Record<string, unknown>, f.model, `${path}.`, action, fromText);
  }
  switch (f.scalar) {
    case 'string':
    case 'date':
    case 'datetime':
      if (typeof v !== 'string') throw invalid(path, `must be a string, not ${describe(v)}`);
      if (f.maxLength === undefined) throw new Error(`field ${path} has no maximum length`);
      if (v.length > f.maxLength) throw invalid(path, `is longer than ${f.maxLength} characters`);
      return v;
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (fromText && typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
      throw invalid(path, `must be true or false, not ${describe(v)}`);
    case 'uint64':
    case 'int64': {
      const n = fromText && typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw invalid(path, `must be an integer, not ${describe(v)}`);
      if (!Number.isSafeInteger(n)) throw invalid(path, 'is too large');
      if (f.scalar === 'uint64' && n < 0) throw invalid(path, 'must not be negative');
      return n;
    }
    default:
      throw new Error(`field ${path} has no type`);
  }
}

/** A list's bound; every list of a request model has one (a schema without it is a bug, not a request error). */
function maxItemsOf(f: FieldSpec, path: string): number {
  if (f.maxItems === undefined) throw new Error(`list ${path} has no maximum number of items`);
  return f.maxItems;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return String(v);
}
