/** The signature checks against Tencent's published test vectors (FACTS §1.4, §1.5). */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseTc3Authorization, verifyTc3 } from './tc3.js';
import { verifyV1 } from './v1.js';

const SECRET_ID = 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE';
const SECRET_KEY = 'Gu5t9xGARNpq86cd98joQYCN3EXAMPLE';

describe('TC3-HMAC-SHA256', () => {
  const body = Buffer.from('{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}');
  const headers = { 'content-type': 'application/json; charset=utf-8', host: 'cvm.tencentcloudapi.com' };
  const auth = parseTc3Authorization(
    `TC3-HMAC-SHA256 Credential=${SECRET_ID}/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, `
    + 'Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168',
  );

  it('verifies the documented example', () => {
    expect(auth).toMatchObject({ secretId: SECRET_ID, date: '2019-02-25', service: 'cvm', signedHeaders: ['content-type', 'host'] });
    expect(verifyTc3(auth, SECRET_KEY, { method: 'POST', rawQuery: '', headers, hostCandidates: ['cvm.tencentcloudapi.com'], body, timestamp: '1551113065' })).toBe(true);
  });

  it('fails when any signed input differs', () => {
    const base = { method: 'POST', rawQuery: '', headers, hostCandidates: ['cvm.tencentcloudapi.com'], body, timestamp: '1551113065' };
    expect(verifyTc3(auth, 'x'.repeat(32), base)).toBe(false);
    expect(verifyTc3(auth, SECRET_KEY, { ...base, body: Buffer.from(body.toString().replace('1', '2')) })).toBe(false);
    expect(verifyTc3(auth, SECRET_KEY, { ...base, timestamp: '1551113066' })).toBe(false);
    expect(verifyTc3(auth, SECRET_KEY, { ...base, hostCandidates: ['cvm.tencentcloudapi.com:443'] })).toBe(false);
    expect(verifyTc3(auth, SECRET_KEY, { ...base, headers: { ...headers, 'content-type': 'application/json' } })).toBe(false);
    expect(verifyTc3(auth, SECRET_KEY, { ...base, rawQuery: 'a=1' })).toBe(false);
  });

  it('accepts header values signed in lower case, as Tencent\'s rule says', () => {
    // Computed independently: canonical headers with x-tc-action lower-cased.
    const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
    const h = (k: string | Buffer, d: string): Buffer => createHmac('sha256', k).update(d).digest();
    const hdrs = { ...headers, 'x-tc-action': 'DescribeInstances' };
    const canonical = ['POST', '/', '', 'content-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\nx-tc-action:describeinstances\n', 'content-type;host;x-tc-action', sha(body)].join('\n');
    const sts = ['TC3-HMAC-SHA256', '1551113065', '2019-02-25/cvm/tc3_request', sha(canonical)].join('\n');
    const signature = createHmac('sha256', h(h(h(`TC3${SECRET_KEY}`, '2019-02-25'), 'cvm'), 'tc3_request')).update(sts).digest('hex');
    const a = parseTc3Authorization(`TC3-HMAC-SHA256 Credential=${SECRET_ID}/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=${signature}`);
    const input = { method: 'POST', rawQuery: '', headers: hdrs, hostCandidates: ['cvm.tencentcloudapi.com'], body, timestamp: '1551113065' };
    expect(verifyTc3(a, SECRET_KEY, input)).toBe(true);
    expect(verifyTc3(a, SECRET_KEY, { ...input, headers: { ...hdrs, 'x-tc-action': 'DeleteInstances' } })).toBe(false);
  });

  it('tries each host spelling', () => {
    const input = { method: 'POST', rawQuery: '', headers, hostCandidates: ['cvm.tencentcloudapi.com:443', 'cvm.tencentcloudapi.com'], body, timestamp: '1551113065' };
    expect(verifyTc3(auth, SECRET_KEY, input)).toBe(true);
  });

  it('refuses malformed headers', () => {
    for (const bad of ['', 'TC3-HMAC-SHA256', `TC3-HMAC-SHA256 Credential=${SECRET_ID}/2019-02-25/cvm/tc3_request, SignedHeaders=host, Signature=${'a'.repeat(64)}`,
      `TC3-HMAC-SHA256 Credential=${SECRET_ID}/2019-2-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=${'a'.repeat(64)}`,
      `TC3-HMAC-SHA256 Credential=${SECRET_ID}/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=${'a'.repeat(63)}`]) {
      expect(() => parseTc3Authorization(bad), bad).toThrow(expect.objectContaining({ code: 'AuthFailure.InvalidAuthorization' }) as Error);
    }
  });

  it('reads an Authorization header in linear time', () => {
    // Every quantifier of the pattern is followed by a character its class does not hold, so no
    // header (64 KB at most; a megabyte here) makes it backtrack over a run.
    const credential = `Credential=${SECRET_ID}/2019-02-25/cvm/tc3_request`;
    for (const bad of [
      `TC3-HMAC-SHA256${' '.repeat(1_000_000)}x`,
      `TC3-HMAC-SHA256 ${credential}${' '.repeat(1_000_000)}x`,
      `TC3-HMAC-SHA256 ${credential}, SignedHeaders=${'a;'.repeat(500_000)} x`,
      `TC3-HMAC-SHA256 ${credential}, SignedHeaders=content-type;host, Signature=${'a'.repeat(64)}${' '.repeat(1_000_000)}x`,
      `TC3-HMAC-SHA256 Credential=${'A'.repeat(1_000_000)}`,
    ]) {
      const start = performance.now();
      expect(() => parseTc3Authorization(bad)).toThrow();
      // A pattern backtracking over the megabyte takes minutes; a second is room for a loaded machine.
      expect(performance.now() - start).toBeLessThan(1_000);
    }
  });
});

describe('v1 HmacSHA1', () => {
  const params = new Map(Object.entries({
    Action: 'DescribeInstances', 'InstanceIds.0': 'ins-09dx96dg', Limit: '20', Nonce: '11886', Offset: '0',
    Region: 'ap-guangzhou', SecretId: SECRET_ID, Timestamp: '1465185768', Version: '2017-03-12',
    Signature: 'EliP9YW3pW28FpsEdkXt/+WcGeI=',
  }));
  const sig = Buffer.from('EliP9YW3pW28FpsEdkXt/+WcGeI=', 'base64');

  it('verifies the documented example', () => {
    expect(verifyV1(params, sig, SECRET_KEY, 'GET', ['cvm.tencentcloudapi.com'])).toBe(true);
  });

  it('fails for another method, host, key or value', () => {
    expect(verifyV1(params, sig, SECRET_KEY, 'POST', ['cvm.tencentcloudapi.com'])).toBe(false);
    expect(verifyV1(params, sig, SECRET_KEY, 'GET', ['cvm.tencentcloudapi.com:80'])).toBe(false);
    expect(verifyV1(params, sig, 'y'.repeat(32), 'GET', ['cvm.tencentcloudapi.com'])).toBe(false);
    expect(verifyV1(new Map([...params, ['Limit', '21']]), sig, SECRET_KEY, 'GET', ['cvm.tencentcloudapi.com'])).toBe(false);
    expect(verifyV1(params, Buffer.from('not the signature'), SECRET_KEY, 'GET', ['cvm.tencentcloudapi.com'])).toBe(false);
  });
});
