/** Random identifiers and credentials, drawn without modulo bias from the system CSPRNG. */
import { randomInt } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` random letters and digits. */
export function randomAlnum(length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALNUM[randomInt(ALNUM.length)];
  return s;
}

/** A SecretId shaped like Tencent's: `AKID` and 32 letters or digits (36 characters). */
export const newSecretId = (): string => `AKID${randomAlnum(32)}`;

/** A SecretKey: 32 letters or digits. */
export const newSecretKey = (): string => randomAlnum(32);

/** A ten-digit AppId like Tencent's (13xxxxxxxx). */
export const newAppId = (): number => 1_300_000_000 + randomInt(100_000_000);
