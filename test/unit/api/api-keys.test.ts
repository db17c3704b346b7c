import {
  bearerToken,
  generateApiKey,
  hashApiKey,
  looksLikeApiKey,
  tokensEqual,
} from '../../../src/api/api-keys';

describe('API keys', () => {
  it('are prefixed by mode, carry 32 base62 characters, and only their hash is kept', () => {
    const live = generateApiKey('live');
    const test = generateApiKey('test');
    expect(live.secret).toMatch(/^sk_live_[0-9A-Za-z]{32}$/);
    expect(test.secret).toMatch(/^sk_test_[0-9A-Za-z]{32}$/);
    expect(live.sha256).toEqual(hashApiKey(live.secret));
    expect(live.sha256).toHaveLength(32);
    expect(live.displayHint).toBe(`sk_live_…${live.secret.slice(-4)}`);
    expect(live.displayHint).not.toContain(live.secret.slice(8, 28));
  });

  it('are unique across many generations', () => {
    const secrets = new Set(Array.from({ length: 2000 }, () => generateApiKey('test').secret));
    expect(secrets.size).toBe(2000);
  });

  it('are recognised by shape before any database lookup', () => {
    expect(looksLikeApiKey(generateApiKey('test').secret)).toBe(true);
    expect(looksLikeApiKey('sk_prod_' + 'a'.repeat(32))).toBe(false);
    expect(looksLikeApiKey('sk_test_' + 'a'.repeat(31))).toBe(false);
    expect(looksLikeApiKey('sk_test_' + 'a'.repeat(31) + '-')).toBe(false);
  });

  it('are read from a Bearer Authorization header only', () => {
    expect(bearerToken('Bearer sk_test_abc')).toBe('sk_test_abc');
    expect(bearerToken('bearer   sk_test_abc ')).toBe('sk_test_abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('compares admin tokens by value regardless of length', () => {
    expect(tokensEqual('a'.repeat(40), 'a'.repeat(40))).toBe(true);
    expect(tokensEqual('a'.repeat(40), 'a'.repeat(39))).toBe(false);
    expect(tokensEqual('a'.repeat(40), 'b' + 'a'.repeat(39))).toBe(false);
  });
});
