import { parseIdempotencyKey, requestFingerprint } from '../../../src/api/idempotency';
import { ProblemError } from '../../../src/api/problem';

describe('request fingerprints decide whether a reused Idempotency-Key is a replay', () => {
  it('ignores the order of keys in the body, at any depth', () => {
    const a = requestFingerprint('POST', '/v1/plans', {
      amount: 1,
      currency: 'USD',
      metadata: { a: '1', b: '2' },
    });
    const b = requestFingerprint('POST', '/v1/plans', {
      metadata: { b: '2', a: '1' },
      currency: 'USD',
      amount: 1,
    });
    expect(a).toBe(b);
  });

  it('differs when the body, the path or the method differs', () => {
    const base = requestFingerprint('POST', '/v1/plans', { amount: 100 });
    expect(requestFingerprint('POST', '/v1/plans', { amount: 101 })).not.toBe(base);
    expect(requestFingerprint('POST', '/v1/products', { amount: 100 })).not.toBe(base);
    expect(requestFingerprint('PUT', '/v1/plans', { amount: 100 })).not.toBe(base);
  });

  it('keeps array order significant (line items are ordered)', () => {
    expect(requestFingerprint('POST', '/x', { items: [1, 2] })).not.toBe(
      requestFingerprint('POST', '/x', { items: [2, 1] }),
    );
  });
});

describe('Idempotency-Key header validation', () => {
  it('accepts printable ASCII up to 255 characters', () => {
    expect(parseIdempotencyKey('order-42:retry')).toBe('order-42:retry');
    expect(parseIdempotencyKey('k'.repeat(255))).toHaveLength(255);
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['with spaces', 'a b'],
    ['non-ASCII', 'clé'],
  ])('rejects a key that is %s, naming the header', (_label, key) => {
    expect(() => parseIdempotencyKey(key)).toThrow(ProblemError);
    try {
      parseIdempotencyKey(key);
    } catch (error) {
      expect((error as ProblemError).extensions.field).toBe('Idempotency-Key');
    }
  });
});
