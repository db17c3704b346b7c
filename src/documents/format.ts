import { currencyExponent } from '../domain/money';

// How a document prints numbers and dates. Amounts arrive as signed integer minor units and leave
// as text with the currency's ISO 4217 exponent (JPY 0 decimals, EUR 2, BHD 3), thousands grouped
// with ',' and '.' before the decimals. Nothing is rounded or converted here: the digits are the
// recorded ones, only punctuated. Dates arrive as 'YYYY-MM-DD' and print in English ('1 March 2026').

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;

/** '1234567' → '1,234,567' (digits only, no sign). */
function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 123456 EUR → '1,234.56'; 1980 JPY → '1,980'; -12345 BHD → '-12.345'. */
export function formatAmount(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor)) {
    throw new RangeError(`an amount in minor units must be a safe integer, got ${String(minor)}`);
  }
  const exponent = currencyExponent(currency);
  const sign = minor < 0 ? '-' : '';
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  if (exponent === 0) return `${sign}${groupThousands(digits)}`;
  const whole = digits.slice(0, -exponent);
  return `${sign}${groupThousands(whole)}.${digits.slice(-exponent)}`;
}

/** 123456 EUR → 'EUR 1,234.56'; -4900 EUR → '-EUR 49.00' (the sign leads, as on a statement). */
export function formatMoney(minor: number, currency: string): string {
  const amount = formatAmount(minor, currency);
  return amount.startsWith('-') ? `-${currency} ${amount.slice(1)}` : `${currency} ${amount}`;
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** A decimal string grouped: '1234567' → '1,234,567', '2.5' → '2.5'. Anything else prints as given. */
export function formatQuantity(value: string): string {
  const match = DECIMAL.exec(value.trim());
  if (!match) return value;
  const [, sign = '', whole = '', fraction] = match;
  return `${sign}${groupThousands(whole)}${fraction === undefined ? '' : `.${fraction}`}`;
}

/**
 * A unit price (decimal string in major units) with at least the currency's decimals:
 * '49' EUR → '49.00', '0.0004' EUR → '0.0004' (sub-cent prices keep their digits), '1980' JPY → '1,980'.
 */
export function formatUnitPrice(value: string, currency: string): string {
  const match = DECIMAL.exec(value.trim());
  if (!match) return value;
  const [, sign = '', whole = '', fraction = ''] = match;
  const decimals = fraction.padEnd(currencyExponent(currency), '0');
  return `${sign}${groupThousands(whole)}${decimals === '' ? '' : `.${decimals}`}`;
}

/** '19' → '19 %', '5 + 9.975' → '5 + 9.975 %', null → '' (an untaxed line). */
export function formatTaxRate(percent: string | null): string {
  if (percent === null || percent.trim() === '') return '';
  return `${percent.trim()} %`;
}

interface CalendarDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

function parseIsoDate(value: string): CalendarDate {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (match) {
    const year = Number(match[1]);
    const month = Number(match[2]);
    const day = Number(match[3]);
    const check = new Date(Date.UTC(year, month - 1, day));
    if (check.getUTCFullYear() === year && check.getUTCMonth() === month - 1 && check.getUTCDate() === day) {
      return { year, month, day };
    }
  }
  throw new RangeError(`a document date must be a calendar date 'YYYY-MM-DD', got ${JSON.stringify(value)}`);
}

function fromUtc(date: Date): CalendarDate {
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

function dayBefore(date: CalendarDate): CalendarDate {
  return fromUtc(new Date(Date.UTC(date.year, date.month - 1, date.day - 1)));
}

function compare(a: CalendarDate, b: CalendarDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

function monthName(date: CalendarDate): string {
  return MONTHS[date.month - 1] ?? '';
}

function printDate(date: CalendarDate): string {
  return `${date.day} ${monthName(date)} ${date.year}`;
}

/** '2026-03-01' → '1 March 2026'. */
export function formatDate(value: string): string {
  return printDate(parseIsoDate(value));
}

/** The last day of a period stored with an exclusive end: '2026-04-01' → '2026-03-31'. */
export function inclusiveEnd(endExclusive: string): string {
  const last = dayBefore(parseIsoDate(endExclusive));
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  return `${pad(last.year, 4)}-${pad(last.month, 2)}-${pad(last.day, 2)}`;
}

/**
 * A period stored as [start, end) printed with its last day included:
 * ('2026-03-01', '2026-04-01') → '1–31 March 2026'; ('2026-03-15', '2026-04-15') → '15 March – 14 April
 * 2026'; across a year end both dates are full. A period of one day (or an empty one) prints that day.
 */
export function formatPeriod(start: string, endExclusive: string): string {
  const first = parseIsoDate(start);
  const last = dayBefore(parseIsoDate(endExclusive));
  if (compare(last, first) <= 0) return printDate(first);
  if (first.year !== last.year) return `${printDate(first)} – ${printDate(last)}`;
  if (first.month !== last.month) {
    return `${first.day} ${monthName(first)} – ${last.day} ${monthName(last)} ${last.year}`;
  }
  return `${first.day}–${last.day} ${monthName(last)} ${last.year}`;
}

/** A line's service period, or '' when it has none. */
export function formatOptionalPeriod(start: string | null, endExclusive: string | null): string {
  if (start === null) return '';
  return endExclusive === null ? formatDate(start) : formatPeriod(start, endExclusive);
}

let regionNames: Intl.DisplayNames | undefined;

/** 'DE' → 'Germany'; an unknown or empty code prints as given. */
export function countryName(code: string): string {
  const trimmed = code.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(trimmed)) return code.trim();
  try {
    regionNames ??= new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });
    return regionNames.of(trimmed) ?? trimmed;
  } catch {
    return trimmed;
  }
}
