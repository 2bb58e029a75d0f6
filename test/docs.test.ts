/** The docs are generated from the code: these fail when they drift. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedBlocks, withBlock, codesUsedInSource } from '../scripts/docs.js';
import { ERROR_CATALOGUE } from '../src/errors/catalogue.js';

describe('docs', () => {
  it.each(Object.entries(generatedBlocks()))('%s is up to date (run npm run docs)', (file, block) => {
    const doc = readFileSync(file, 'utf8');
    expect(withBlock(doc, block, file)).toBe(doc);
  });

  it('the catalogue holds the 125 distinct codes of the specification and the SMTP-only one, spelled exactly', () => {
    const codes = Object.keys(ERROR_CATALOGUE);
    expect(codes).toHaveLength(126);
    expect(codes).toContain('RequestLimitExceeded.SmtpRateLimit');
    for (const odd of ['FailedOperation.TemplateContentToolarge', 'InvalidParameterValue.InValidTemplateData', 'OperationDenied.RepeatPassWord',
      'AuthFailure.SignatureExpire', 'UnsupportedRegion']) {
      expect(codes).toContain(odd);
    }
  });

  it('every code the server can return is in the catalogue and documented', () => {
    const errorsDoc = readFileSync('docs/ERRORS.md', 'utf8');
    const used = codesUsedInSource();
    expect(used.size).toBeGreaterThan(20);
    for (const code of used) expect(errorsDoc).toContain(`| \`${code}\` | yes |`);
  });
});
