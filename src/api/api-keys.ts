import { createHash, timingSafeEqual } from 'node:crypto';
import { randomBase62 } from '../db/ids';

export type ApiKeyMode = 'live' | 'test';

const API_KEY_PATTERN = /^sk_(live|test)_[0-9A-Za-z]{32}$/;

export interface GeneratedApiKey {
  /** Shown to the caller once; only its SHA-256 is stored. */
  readonly secret: string;
  readonly sha256: Buffer;
  /** What dashboards show so a human can tell keys apart: `sk_test_…Wx4q`. */
  readonly displayHint: string;
}

export function generateApiKey(mode: ApiKeyMode): GeneratedApiKey {
  const secret = `sk_${mode}_${randomBase62(32)}`;
  return { secret, sha256: hashApiKey(secret), displayHint: `sk_${mode}_…${secret.slice(-4)}` };
}

export function hashApiKey(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function looksLikeApiKey(token: string): boolean {
  return API_KEY_PATTERN.test(token);
}

export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Constant-time comparison for the admin token. */
export function tokensEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}
