import { randomInt } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export const ID_PREFIXES = {
  tenant: 'ten',
  apiKey: 'key',
  product: 'prod',
  plan: 'plan',
  customer: 'cus',
  subscription: 'sub',
  invoice: 'inv',
  invoiceLine: 'il',
  ledgerAccount: 'lac',
  journalEntry: 'je',
  price: 'price',
  priceOverride: 'ovr',
  subscriptionItem: 'si',
  paymentAttempt: 'pay',
  creditNote: 'cn',
  outboxEvent: 'evt',
} as const;
export type IdKind = keyof typeof ID_PREFIXES;

/** Random base62 string; `randomInt` is uniform, so there is no modulo bias. */
export function randomBase62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** Prefixed, 20 base62 characters (~119 bits): `cus_4fZ…`. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${randomBase62(20)}`;
}
