/** Every string and list a request can carry has its bound, and the schema agrees with the rules it was generated from. */
import { describe, expect, it } from 'vitest';
import { ACTIONS, MODELS, type ModelName } from './actions.js';
import { boundsOf } from './limits.js';

/** The models reachable from a request of any action (Sesame's own included). */
function requestModels(): ModelName[] {
  const seen = new Set<ModelName>();
  const visit = (m: ModelName): void => {
    if (seen.has(m)) return;
    seen.add(m);
    for (const f of MODELS[m]) if (f.model) visit(f.model);
  };
  for (const a of Object.values(ACTIONS)) visit(a.request);
  return [...seen];
}

describe('parameter bounds', () => {
  it('bound every string and every list of every request, as src/schema/limits.ts says', () => {
    let strings = 0;
    for (const model of requestModels()) {
      for (const f of MODELS[model]) {
        const want = boundsOf({ ...f, model });
        const label = `${model}.${f.name}`;
        if (f.scalar === 'string' || f.scalar === 'date' || f.scalar === 'datetime') {
          expect(f.maxLength, label).toBeGreaterThan(0);
          strings++;
        }
        if (f.array) expect(f.maxItems, label).toBeGreaterThan(0);
        // A stale ses.ts (rules changed, generator not run) shows here.
        expect({ maxLength: f.maxLength, maxItems: f.maxItems }, label).toEqual({ maxLength: want.maxLength, maxItems: want.maxItems });
      }
    }
    // The walk reached the requests (78 string parameters today).
    expect(strings).toBeGreaterThan(50);
  });

  it('let through the largest values Tencent documents and the service accepts', () => {
    const bound = (model: ModelName, name: string): number | undefined => MODELS[model].find((f) => f.name === name)?.maxLength;
    // A 128-character display name (each character two UTF-16 units at worst) and a 254-character address.
    expect(bound('SendEmailRequest', 'FromEmailAddress')).toBeGreaterThanOrEqual(256 + 2 + 254 + 1);
    expect(bound('SendEmailRequest', 'Subject')).toBeGreaterThanOrEqual(2 * 998);
    expect(bound('CreateReceiverRequest', 'ReceiversName')).toBeGreaterThanOrEqual(2 * 200);
    expect(bound('CreateReceiverRequest', 'Desc')).toBeGreaterThanOrEqual(2 * 300);
    expect(bound('Attachment', 'FileName')).toBeGreaterThanOrEqual(255);
    expect(bound('Attachment', 'Content')).toBeGreaterThanOrEqual(Math.ceil((4 * 1024 * 1024) / 3) * 4);
    expect(bound('ReceiverInputData', 'TemplateData')).toBeGreaterThanOrEqual(800);
    expect(bound('UpdateEmailSmtpPassWordRequest', 'Password')).toBeGreaterThanOrEqual(64);
    expect(bound('TagList', 'TagValue')).toBeGreaterThanOrEqual(256);
    expect(MODELS.CreateReceiverDetailRequest.find((f) => f.name === 'Emails')?.maxItems).toBeGreaterThanOrEqual(20_000);
  });
});
