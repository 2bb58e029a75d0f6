/**
 * The fields inside a report part: a message/delivery-status part (RFC 3464 §2.1: a group of
 * per-message fields, then one group per recipient, the groups separated by blank lines) and a
 * message/feedback-report part (RFC 5965 §3.1: one group). Both are header-style `Name: value`
 * lines, a line that starts with a blank continuing the field above it (RFC 5322 §2.2.3).
 * mailparser hands these parts over as bytes; they are read here in one scan of their lines, and
 * everything is capped, since the part comes from anyone who can send us mail.
 */

/** One group: each field's values in order, keyed by lower-case field name. */
export type FieldGroup = Map<string, string[]>;

/** How much of a report part is read: a report for 100 recipients is some tens of kilobytes. */
export const FIELD_TEXT_MAX = 1024 * 1024;
/** Groups read from one part: the per-message group and 100 recipients, with room for stray blank lines. */
export const FIELD_GROUPS_MAX = 128;
/** Values kept for one field name in one group (ARF repeats Original-Rcpt-To and Reported-Domain). */
const VALUES_MAX = 100;
/** Characters kept of one value, unfolded. */
export const FIELD_VALUE_MAX = 1000;
/** Longer names are not fields (the longest RFC 3464 and RFC 5965 names are under 30). */
const NAME_MAX = 80;

/** The field groups of `text`, in order; lines that are not fields are skipped. */
export function readFieldGroups(text: string): FieldGroup[] {
  const groups: FieldGroup[] = [];
  const end = Math.min(text.length, FIELD_TEXT_MAX);
  let group: FieldGroup | null = null;
  /** The value being continued by folded lines: its array and its index there. */
  let open: { values: string[]; i: number } | null = null;
  for (let at = 0; at < end;) {
    let nl = text.indexOf('\n', at);
    if (nl < 0 || nl > end) nl = end;
    const line = text.slice(at, nl);
    at = nl + 1;
    const trimmed = line.trim();
    if (trimmed === '') {
      // A blank line ends the group (RFC 3464 §2.1); several in a row end nothing more.
      group = null;
      open = null;
      continue;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      // Folded: the blanks of the fold become one space.
      if (open && open.values[open.i].length < FIELD_VALUE_MAX) {
        open.values[open.i] = `${open.values[open.i]} ${trimmed}`.slice(0, FIELD_VALUE_MAX);
      }
      continue;
    }
    open = null;
    const colon = line.indexOf(':');
    const name = colon > 0 && colon <= NAME_MAX ? line.slice(0, colon).trim().toLowerCase() : '';
    if (name === '' || /\s/.test(name)) continue;
    if (!group) {
      if (groups.length >= FIELD_GROUPS_MAX) break;
      group = new Map();
      groups.push(group);
    }
    let values = group.get(name);
    if (!values) group.set(name, (values = []));
    if (values.length >= VALUES_MAX) continue;
    values.push(line.slice(colon + 1, colon + 1 + FIELD_VALUE_MAX * 2).trim().slice(0, FIELD_VALUE_MAX));
    open = { values, i: values.length - 1 };
  }
  return groups;
}

/** The first value of `name` in `group`, or null. */
export function firstField(group: FieldGroup, name: string): string | null {
  return group.get(name)?.[0] ?? null;
}

/**
 * A typed value without its type: `rfc822; a@example.org` → `a@example.org`, `smtp; 550 …` →
 * `550 …`, `dns; mx.example.org` → `mx.example.org` (RFC 3464 §2.1.2, §2.3.2, §2.3.5, §2.3.6). The
 * type is an atom; a value whose text before the first `;` is not one has no type and stays whole.
 */
export function untyped(value: string): string {
  const semi = value.indexOf(';');
  if (semi < 1 || semi > 40 || !/^[A-Za-z0-9][A-Za-z0-9.+-]*$/.test(value.slice(0, semi).trim())) return value.trim();
  return value.slice(semi + 1).trim();
}

/** An address as a report writes it (`<A@Example.org>`, `a@example.org (comment)`), bare and lower-cased; null if empty. */
export function bareAddress(value: string | null): string | null {
  if (value === null) return null;
  let v = value.slice(0, FIELD_VALUE_MAX).trim();
  if (v.startsWith('<')) {
    const close = v.indexOf('>');
    v = v.slice(1, close < 0 ? v.length : close);
  } else {
    // Anything after the address (a comment, a second token) is not part of it.
    const blank = v.search(/[\s(]/);
    if (blank >= 0) v = v.slice(0, blank);
  }
  v = v.trim().toLowerCase();
  return v === '' ? null : v;
}

/** The status code a Status field starts with (`5.1.1 (bad mailbox)` → `5.1.1`), '' if it is not one. */
export function statusCode(value: string | null): string {
  const m = /^([245]\.\d{1,3}\.\d{1,3})(?![\d.])/.exec((value ?? '').trim());
  return m ? m[1] : '';
}

/**
 * The first enhanced status code (RFC 3463) anywhere in `text`, or null. Not one inside a longer
 * run of dotted numbers, so `10.5.1.1` (an address) does not read as 5.1.1. Linear: a fixed-width
 * lookbehind and bounded counts, tried once at each position.
 */
export function findEnhancedCode(text: string): string | null {
  const m = /(?<![\w.])([245]\.\d{1,3}\.\d{1,3})(?!\d|\.\d)/.exec(text);
  return m ? m[1] : null;
}
