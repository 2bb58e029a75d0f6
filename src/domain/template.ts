/**
 * Template rules: names, base64 UTF-8 content, variables `{{name}}`, review states.
 * Pure functions; they throw catalogue errors.
 */
import { fail } from '../errors/coded-error.js';
import { decodeBase64Utf8 } from './base64.js';

/** TemplateStatus values of the Tencent API. */
export const TemplateStatus = { Approved: 0, Pending: 1, Rejected: 2 } as const;

/** Longest template name, in characters. */
export const TEMPLATE_NAME_MAX = 100;

/**
 * A variable is `{{name}}`: letters, digits, `_`, `-` or `.`, spaces inside the braces allowed.
 * The same pattern finds variables here and substitutes them when mail is rendered.
 *
 * It runs over whole templates (SESAME_TEMPLATE_MAX_BYTES, 1 MB by default) and stays linear: it
 * can only start at `{{`, and from there each quantifier is followed by something its class does
 * not hold (`\s*` by a name character, the name by a space or `}`), so a failed attempt backtracks
 * over the run after its own `{{` only, and runs cannot overlap (none holds a `{`).
 */
export const VARIABLE_PATTERN = /\{\{\s*([A-Za-z0-9_][A-Za-z0-9_.-]*)\s*\}\}/g;

/** Checks a template name: not empty, at most 100 characters, no control characters or angle brackets. */
export function checkTemplateName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0) fail('InvalidParameterValue.TemplateNameIsNULL', 'TemplateName must not be empty.');
  if ([...trimmed].length > TEMPLATE_NAME_MAX) {
    fail('InvalidParameterValue.TemplateNameIllegal', `TemplateName is longer than ${TEMPLATE_NAME_MAX} characters.`);
  }
  // Control characters break logs and headers; angle brackets invite markup injection in the console.
  if (/[\u0000-\u001f\u007f<>]/.test(trimmed)) {
    fail('InvalidParameterValue.TemplateNameIllegal', 'TemplateName may not contain control characters or < >.');
  }
  return trimmed;
}

/** Decoded template content. */
export interface DecodedContent {
  html: string | null;
  text: string | null;
  variables: string[];
}

/** Decodes TemplateContent's Html and Text (base64 UTF-8), requires one of them, enforces the size limit, finds variables. */
export function decodeTemplateContent(content: { html?: string; text?: string }, maxBytes: number): DecodedContent {
  const decode = (field: 'Html' | 'Text'): { text: string; bytes: number } | null => {
    const v = field === 'Html' ? content.html : content.text;
    if (v === undefined || v === '') return null;
    const d = decodeBase64Utf8(v);
    if (d === null) {
      fail('InvalidParameterValue.TemplateContentIsWrong', `TemplateContent.${field} is not base64-encoded UTF-8 text.`);
    }
    return d;
  };
  const html = decode('Html');
  const text = decode('Text');
  if ((!html || html.text.trim() === '') && (!text || text.text.trim() === '')) {
    fail('InvalidParameterValue.TemplateContentIsNULL', 'TemplateContent needs a non-empty Html or Text (base64).');
  }
  const size = (html?.bytes ?? 0) + (text?.bytes ?? 0);
  if (size > maxBytes) {
    fail('FailedOperation.TemplateContentToolarge', `The template is ${size} bytes after decoding; the limit is ${maxBytes}.`);
  }
  return {
    html: html?.text ?? null,
    text: text?.text ?? null,
    variables: findVariables(`${html?.text ?? ''}\n${text?.text ?? ''}`),
  };
}

/** The distinct variable names used in `content`, in order of first use. */
export function findVariables(content: string): string[] {
  const seen = new Set<string>();
  for (const m of content.matchAll(VARIABLE_PATTERN)) seen.add(m[1]);
  return [...seen];
}

/** Parses TemplateData: a JSON object whose values are strings (numbers and booleans are taken as text). */
export function parseTemplateData(json: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    fail('FailedOperation.WrongContentJson', 'TemplateData is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    fail('FailedOperation.WrongContentJson', 'TemplateData must be a JSON object of variable names to values.');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else fail('FailedOperation.WrongContentJson', `TemplateData.${k} must be a string, not ${v === null ? 'null' : typeof v}.`);
  }
  return out;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** Replaces each `{{name}}` with its value (HTML-escaped when `html`); names without a value are kept as written. */
export function renderTemplate(content: string, data: Readonly<Record<string, string>>, html: boolean): string {
  return content.replace(VARIABLE_PATTERN, (whole, name: string) => {
    if (!Object.prototype.hasOwnProperty.call(data, name)) return whole;
    return html ? escapeHtml(data[name]) : data[name];
  });
}

/** Subject and bodies as written, `{{variables}}` not yet substituted. */
export interface TemplatedText { subject: string; html: string | null; text: string | null }

/**
 * Substitutes `data` in a subject and its bodies: HTML-escaped in the HTML body, and the subject kept
 * to one line (a value may hold line breaks; in a header they would start a header of their own).
 */
export function renderTemplated(t: TemplatedText, data: Readonly<Record<string, string>>): TemplatedText {
  return {
    subject: renderTemplate(t.subject, data, false).replace(/[\u0000-\u001f\u007f]+/g, ' '),
    html: t.html === null ? null : renderTemplate(t.html, data, true),
    text: t.text === null ? null : renderTemplate(t.text, data, false),
  };
}
