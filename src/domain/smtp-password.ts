/** The SMTP password rule (FACTS §3.2: 10 to 20 characters mixing digits, lower- and upper-case letters). */

/** True when the password may be set: 10–20 printable ASCII characters with a digit, a lower- and an upper-case letter. */
export function isAcceptableSmtpPassword(p: string): boolean {
  return /^[\x21-\x7e]{10,20}$/.test(p) && /\d/.test(p) && /[a-z]/.test(p) && /[A-Z]/.test(p);
}
