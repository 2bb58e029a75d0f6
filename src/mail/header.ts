/**
 * A message's header fields and body (RFC 5322 §2.1, §2.2), for the code that reads or signs a
 * whole message: the header ends at the first empty line (a message of header fields only has
 * none), and a line starting with a blank continues the field above it. Only the header becomes
 * text, in latin1 (one character per byte, so it turns back into the very same bytes); the body
 * stays the bytes it is.
 */

/** A header field as it came: its lower-case name and every line of it (the first and its folded continuations, no CRLF). */
export interface HeaderField {
  /** What stands before the colon, blanks at its end dropped; '' for a line with no colon. */
  name: string;
  lines: string[];
}

/**
 * The fields and the body of `message` (CRLF line endings). A folded line with no field above it
 * becomes a field of its own, named by the same rule; `folded` says there was one.
 */
export function splitMessage(message: Buffer): { fields: HeaderField[]; body: Buffer; folded: boolean } {
  const end = message[0] === 0x0d && message[1] === 0x0a ? 0 : message.indexOf('\r\n\r\n');
  const header = (end < 0 ? message : message.subarray(0, end)).toString('latin1').replace(/\r\n$/, '');
  const body = end < 0 ? Buffer.alloc(0) : message.subarray(end === 0 ? 2 : end + 4);
  const fields: HeaderField[] = [];
  let folded = false;
  for (const line of header === '' ? [] : header.split('\r\n')) {
    const last = fields[fields.length - 1];
    if (line[0] === ' ' || line[0] === '\t') {
      if (last) { last.lines.push(line); continue; }
      folded = true;
    }
    fields.push({ name: fieldName(line), lines: [line] });
  }
  return { fields, body, folded };
}

/** The field's value: its lines joined (unfolded), after the colon. */
export function fieldValue(f: HeaderField): string {
  const joined = f.lines.join('');
  return joined.slice(joined.indexOf(':') + 1);
}

function fieldName(line: string): string {
  const colon = line.indexOf(':');
  // Blanks before the colon go by a scan: `[ \t]+$` backtracks quadratically over a long run of
  // them that something else follows (a line may be as long as the whole header).
  let end = colon < 0 ? 0 : colon;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  return line.slice(0, end).toLowerCase();
}
