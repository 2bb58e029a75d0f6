/** SQL fragments the stores share. */
import type { Dialect } from './db.js';

/** `%text%`, where `%`, `_` and `\\` in the user's text are literal characters, not wildcards. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `column` contains a user's text, case-insensitively: bind `likePattern(text)` to its placeholder. */
export function containsSql(d: Dialect, column: string): string {
  return `${column} ${d.ilike} ? ESCAPE '\\'`;
}
