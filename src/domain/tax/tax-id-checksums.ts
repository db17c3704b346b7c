// Check-digit algorithms of the non-European tax ids, as their issuers publish them. Each takes the
// compact number (digits/letters only) and answers whether its check digit is right.

const BASE36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Luhn over decimal digits (Canada's Business Number). */
export function luhnValid(digits: string): boolean {
  return luhnModNValid(digits, '0123456789');
}

/**
 * Luhn mod N over `alphabet` (ISO/IEC 7812 generalised): from the right, every second code point is
 * doubled and its base-N digits summed; valid when the total is a multiple of N. India's GSTIN uses
 * it with N = 36.
 */
export function luhnModNValid(value: string, alphabet: string): boolean {
  const n = alphabet.length;
  let sum = 0;
  for (let i = 0; i < value.length; i += 1) {
    const codePoint = alphabet.indexOf(value.charAt(value.length - 1 - i));
    if (codePoint < 0) return false;
    const addend = i % 2 === 1 ? codePoint * 2 : codePoint;
    sum += Math.floor(addend / n) + (addend % n);
  }
  return sum % n === 0;
}

export function gstinChecksumValid(gstin: string): boolean {
  return luhnModNValid(gstin, BASE36);
}

/**
 * Australian Business Number (ATO): subtract 1 from the first digit, weight the 11 digits by
 * 10, 1, 3, 5, …, 19; valid when the sum is divisible by 89.
 */
export function abnValid(digits: string): boolean {
  if (!/^\d{11}$/.test(digits)) return false;
  const weights = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];
  let sum = 0;
  for (const [index, weight] of weights.entries()) {
    const digit = Number(digits.charAt(index)) - (index === 0 ? 1 : 0);
    sum += digit * weight;
  }
  return sum % 89 === 0;
}

/**
 * New Zealand IRD number (Inland Revenue's published algorithm), which is also the GST number:
 * 8 or 9 digits in 10,000,000 – 150,000,000; pad to 9, weight the first 8 by 3,2,7,6,5,4,3,2,
 * check = (11 − sum mod 11) mod 11; if that is 10, retry with 7,4,3,2,5,2,7,6; 10 again is invalid.
 */
export function irdValid(digits: string): boolean {
  if (!/^\d{8,9}$/.test(digits)) return false;
  const value = Number(digits);
  if (value <= 10_000_000 || value >= 150_000_000) return false;
  const padded = digits.padStart(9, '0');
  const base = padded.slice(0, 8);
  const check = Number(padded.charAt(8));
  const primary = irdCheckDigit(base, [3, 2, 7, 6, 5, 4, 3, 2]);
  const expected = primary === 10 ? irdCheckDigit(base, [7, 4, 3, 2, 5, 2, 7, 6]) : primary;
  return expected !== 10 && expected === check;
}

function irdCheckDigit(base: string, weights: readonly number[]): number {
  const sum = weights.reduce((total, weight, index) => total + Number(base.charAt(index)) * weight, 0);
  return (11 - (sum % 11)) % 11;
}

/** IRS campus prefixes that have been assigned to EINs (no check digit exists). */
const EIN_PREFIXES = new Set(
  [
    [1, 6],
    [10, 16],
    [20, 27],
    [30, 48],
    [50, 68],
    [71, 77],
    [80, 88],
    [90, 95],
    [98, 99],
  ].flatMap(([from = 0, to = 0]) =>
    Array.from({ length: to - from + 1 }, (_, i) => String(from + i).padStart(2, '0')),
  ),
);

export function einPrefixValid(digits: string): boolean {
  return EIN_PREFIXES.has(digits.slice(0, 2));
}
