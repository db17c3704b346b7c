// ISO 4217 currencies and their minor-unit exponents (JPY 0, EUR 2, BHD 3, CLF 4), from the
// `currency-codes` package (ISO's own table as data) rather than a hand-kept list.

import cc from 'currency-codes';

// ISO codes that are not money a customer can be billed in: precious metals, SDRs, bond-market units,
// the testing and "no currency" codes.
const NOT_BILLABLE = new Set([
  'XAU',
  'XAG',
  'XPT',
  'XPD',
  'XDR',
  'XBA',
  'XBB',
  'XBC',
  'XBD',
  'XSU',
  'XUA',
  'XTS',
  'XXX',
]);

/** Digits after the decimal point of `currency`'s minor unit; RangeError for anything not billable. */
export function currencyExponent(currency: string): number {
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
    throw new RangeError(
      `currency must be an upper-case ISO 4217 code like 'EUR', got ${JSON.stringify(currency)}`,
    );
  }
  const entry = cc.code(currency);
  if (entry === undefined || NOT_BILLABLE.has(currency)) {
    throw new RangeError(`${currency} is not an ISO 4217 currency that can be billed`);
  }
  const digits = entry.digits;
  if (!Number.isInteger(digits) || digits < 0 || digits > 4) {
    throw new RangeError(`${currency} has no usable minor unit (ISO lists ${String(digits)})`);
  }
  return digits;
}

export function isBillableCurrency(currency: string): boolean {
  try {
    currencyExponent(currency);
    return true;
  } catch {
    return false;
  }
}
