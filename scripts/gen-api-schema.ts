/**
 * Generates `src/schema/ses.ts` from the specification: the action list and models of
 * `ses-2020-10-02.json`, refined by the field list of FACTS.md §3.0 (required markers and the
 * exact Tencent types uint64/int64/date/datetime, plus fields newer than the JSON snapshot), with
 * the size bounds of every request parameter from the rules of src/schema/limits.ts.
 *
 * Run: npx tsx scripts/gen-api-schema.ts ../shared/spec
 * The output is committed; CI never needs the spec folder.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { boundsOf } from '../src/schema/limits.js';

interface JsonField { name: string; type: string; desc: string }
interface JsonSpec {
  actions: Record<string, { doc: string; request: string; response: string }>;
  models: Record<string, { doc: string; fields: JsonField[] }>;
}
interface Field {
  name: string; scalar: string | null; model: string | null; array: boolean; required: boolean; desc: string;
  maxLength?: number; maxItems?: number;
}

const specDir = process.argv[2] ?? '../shared/spec';
const out = process.argv[3] ?? 'src/schema/ses.ts';
const spec = JSON.parse(readFileSync(join(specDir, 'ses-2020-10-02.json'), 'utf8')) as JsonSpec;
const facts = readFileSync(join(specDir, 'FACTS.md'), 'utf8');

/** FACTS §3.0 lines: "- `Model`: Field*:type, Field:type[]". */
const factFields = new Map<string, { name: string; type: string; required: boolean }[]>();
for (const line of facts.split('\n')) {
  const m = /^- `(\w+)`:(.*)$/.exec(line.trim());
  if (!m || !(m[1] in spec.models || m[1].endsWith('Request'))) continue;
  const list = m[2].split(',').map((s) => s.trim()).filter(Boolean);
  if (!list.every((s) => /^\w+\*?:[\w[\]]+$/.test(s))) continue;
  factFields.set(m[1], list.map((s) => {
    const [n, t] = s.split(':');
    return { name: n.replace('*', ''), required: n.endsWith('*'), type: t };
  }));
}

/** Response fields that newer SDKs carry (FACTS §3.0, last bullet). */
const newerResponseFields: Record<string, JsonField[]> = {
  CreateEmailIdentityResponse: [{ name: 'DKIMOption', type: 'number', desc: 'DKIM key option: 0 RSA-1024, 1 RSA-2048, 2 dual signature.' }],
  GetEmailIdentityResponse: [
    { name: 'DKIMOption', type: 'number', desc: 'DKIM key option: 0 RSA-1024, 1 RSA-2048, 2 dual signature.' },
    { name: 'TagList', type: 'Array of TagList', desc: 'Tags of the domain.' },
  ],
  UpdateEmailIdentityResponse: [{ name: 'DKIMOption', type: 'number', desc: 'DKIM key option: 0 RSA-1024, 1 RSA-2048, 2 dual signature.' }],
};

const SCALARS: Record<string, string> = {
  string: 'string', number: 'int64', boolean: 'bool',
  uint64: 'uint64', int64: 'int64', bool: 'bool', date: 'date', datetime: 'datetime',
};

function parseType(t: string): { scalar: string | null; model: string | null; array: boolean } {
  let array = false;
  if (t.startsWith('Array of ')) { array = true; t = t.slice(9); }
  if (t.endsWith('[]')) { array = true; t = t.slice(0, -2); }
  if (t in SCALARS) return { scalar: SCALARS[t], model: null, array };
  if (!(t in spec.models)) throw new Error(`unknown type ${t}`);
  return { scalar: null, model: t, array };
}

// Models reachable from a request are "input" models: their optional fields stay optional.
const inputModels = new Set<string>();
function markInput(name: string): void {
  if (inputModels.has(name)) return;
  inputModels.add(name);
  for (const f of spec.models[name]?.fields ?? []) {
    const t = parseType(f.type);
    if (t.model) markInput(t.model);
  }
}
for (const a of Object.values(spec.actions)) markInput(a.request);

const models: Record<string, Field[]> = {};
for (const [name, model] of Object.entries(spec.models)) {
  const jsonFields = [...model.fields, ...(newerResponseFields[name] ?? [])].filter((f) => f.name !== 'RequestId');
  const ff = factFields.get(name);
  const fields: Field[] = [];
  const seen = new Set<string>();
  for (const f of jsonFields) {
    const fact = ff?.find((x) => x.name === f.name);
    const t = parseType(fact?.type ?? f.type);
    const required = inputModels.has(name) ? Boolean(fact?.required) : true;
    fields.push({ name: f.name, ...t, required, desc: f.desc });
    seen.add(f.name);
  }
  for (const fact of ff ?? []) {
    if (seen.has(fact.name)) continue;
    const t = parseType(fact.type);
    fields.push({ name: fact.name, ...t, required: inputModels.has(name) ? fact.required : true, desc: '' });
  }
  // Every string and list a request can carry is bounded (limits.ts throws for one it has no rule for).
  if (inputModels.has(name)) for (const f of fields) Object.assign(f, boundsOf({ ...f, model: name }));
  models[name] = fields;
}

const tsType = (f: Field): string => {
  const base = f.model ?? (f.scalar === 'bool' ? 'boolean' : f.scalar === 'uint64' || f.scalar === 'int64' ? 'number' : 'string');
  return f.array ? `${base}[]` : base;
};
const oneLine = (s: string): string => s.replace(/\s+/g, ' ').replace(/\*\//g, '*\\/').trim();

const actionNames = Object.keys(spec.actions).sort();
const lines: string[] = [];
lines.push('// Generated by scripts/gen-api-schema.ts from ses-2020-10-02.json and FACTS.md §3.0. Do not edit.');
lines.push('/* eslint-disable */');
lines.push('');
lines.push("/** Scalar wire types of the Tencent API. */");
lines.push("export type Scalar = 'string' | 'uint64' | 'int64' | 'bool' | 'date' | 'datetime';");
lines.push('/**');
lines.push(' * One field of a model: a scalar or another model, maybe an array of it. Fields of requests carry');
lines.push(' * their bounds (src/schema/limits.ts): maxLength for a string (each item of a list of strings),');
lines.push(' * in UTF-16 code units, and maxItems for a list.');
lines.push(' */');
lines.push('export interface FieldSpec {');
lines.push('  readonly name: string; readonly scalar: Scalar | null; readonly model: ModelName | null; readonly array: boolean; readonly required: boolean;');
lines.push('  readonly maxLength?: number; readonly maxItems?: number;');
lines.push('}');
lines.push('');
lines.push('/** Every action of SES 2020-10-02, sorted by name. */');
lines.push(`export const ACTION_NAMES = ${JSON.stringify(actionNames)} as const;`);
lines.push('export type ActionName = (typeof ACTION_NAMES)[number];');
lines.push('');
lines.push('/** Request and response model of each action. */');
lines.push('export const ACTIONS: Record<ActionName, { readonly request: ModelName; readonly response: ModelName }> = {');
for (const a of actionNames) lines.push(`  ${a}: { request: '${spec.actions[a].request}', response: '${spec.actions[a].response}' },`);
lines.push('};');
lines.push('');
const modelNames = Object.keys(models).sort();
lines.push(`export type ModelName = ${modelNames.map((n) => `'${n}'`).join(' | ')};`);
lines.push('');
lines.push('/** The fields of every model, in declaration order. */');
lines.push('export const MODELS: Record<ModelName, readonly FieldSpec[]> = {');
for (const n of modelNames) {
  lines.push(`  ${n}: [`);
  for (const f of models[n]) {
    const bounds = `${f.maxLength !== undefined ? `, maxLength: ${f.maxLength}` : ''}${f.maxItems !== undefined ? `, maxItems: ${f.maxItems}` : ''}`;
    lines.push(`    { name: '${f.name}', scalar: ${f.scalar ? `'${f.scalar}'` : 'null'}, model: ${f.model ? `'${f.model}'` : 'null'}, array: ${f.array}, required: ${f.required}${bounds} },`);
  }
  lines.push('  ],');
}
lines.push('};');
lines.push('');
for (const n of modelNames) {
  lines.push(`/** ${oneLine(spec.models[n].doc)} */`);
  lines.push(`export interface ${n} {`);
  for (const f of models[n]) {
    const bounds = [
      f.maxLength !== undefined ? `At most ${f.maxLength} characters${f.array ? ' each' : ''}.` : '',
      f.maxItems !== undefined ? `At most ${f.maxItems} items.` : '',
    ].filter(Boolean).join(' ');
    const desc = f.desc ? oneLine(f.desc) : '';
    const doc = bounds ? [desc.replace(/([^.!?])$/, '$1.'), bounds].filter(Boolean).join(' ') : desc;
    if (doc) lines.push(`  /** ${doc} */`);
    lines.push(`  ${f.name}${f.required ? '' : '?'}: ${tsType(f)};`);
  }
  lines.push('}');
  lines.push('');
}
lines.push('/** The request type of each action. */');
lines.push('export interface Requests {');
for (const a of actionNames) lines.push(`  ${a}: ${spec.actions[a].request};`);
lines.push('}');
lines.push('/** The response type of each action (without RequestId, which the envelope adds). */');
lines.push('export interface Responses {');
for (const a of actionNames) lines.push(`  ${a}: ${spec.actions[a].response};`);
lines.push('}');
lines.push('');
writeFileSync(out, lines.join('\n'));
console.log(`wrote ${out}: ${actionNames.length} actions, ${modelNames.length} models`);
