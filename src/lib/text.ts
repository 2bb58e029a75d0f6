/** Text from outside (remote SMTP replies, above all) made safe to store and show. */

/**
 * Control characters (NUL above all, which PostgreSQL refuses in text) become spaces, tabs and line
 * breaks stay, and the result is cut to `max` characters.
 */
export function storableText(s: string, max = 1000): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, ' ').slice(0, max);
}
