// Where exchange rates come from. Ledgerline never fetches rates on its own: a tenant uploads them
// (POST /v1/fx_rates, or `npm run fx:upload` with a CSV file), or an operator plugs a provider in
// behind this interface (an ECB or Open Exchange Rates client, say) and runs the same upload with it.
// Rates are exact decimal strings: 1 `base` = `rate` `quote`, in force from `effectiveAt`.

export interface FxRateQuote {
  readonly base: string;
  readonly quote: string;
  /** Exact decimal string, e.g. '0.92345'. */
  readonly rate: string;
  /** ISO-8601 instant with offset. */
  readonly effectiveAt: string;
  /** Who published it ('ECB', 'BoJ', the file name). */
  readonly source: string;
}

export interface FxRateProvider {
  readonly name: string;
  /** Every rate the provider has to offer now; the API deduplicates what is already stored. */
  rates(): Promise<readonly FxRateQuote[]>;
}

export class FxRateFormatError extends Error {
  override readonly name = 'FxRateFormatError';
}

const CURRENCY = /^[A-Z]{3}$/;
const RATE = /^\d{1,12}(\.\d{1,12})?$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const HEADER = ['base', 'quote', 'rate', 'effective_at', 'source'] as const;

/**
 * Parses `base,quote,rate,effective_at,source` CSV (a header line first; no quoted fields, since none
 * of the columns needs a comma). A bad line is an error naming the line and column, never skipped:
 * a silently dropped rate would convert invoices at an older one.
 */
export function parseFxRatesCsv(text: string, defaultSource: string): FxRateQuote[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((cell) => cell.trim().toLowerCase());
  const missing = HEADER.filter((column, index) => header[index] !== column && column !== 'source');
  if (missing.length > 0 || header.length < 4) {
    throw new FxRateFormatError(`line 1: expected the header ${HEADER.join(',')} (source optional)`);
  }
  const quotes: FxRateQuote[] = [];
  for (const [index, raw] of lines.entries()) {
    if (index === 0 || raw.trim() === '') continue;
    const lineNo = index + 1;
    const [base = '', quote = '', rate = '', effectiveAt = '', source = ''] = raw
      .split(',')
      .map((cell) => cell.trim());
    const fail = (column: string, why: string) => new FxRateFormatError(`line ${lineNo}, ${column}: ${why}`);
    if (!CURRENCY.test(base)) throw fail('base', `'${base}' is not an ISO 4217 code`);
    if (!CURRENCY.test(quote)) throw fail('quote', `'${quote}' is not an ISO 4217 code`);
    if (base === quote) throw fail('quote', 'must differ from base');
    if (!RATE.test(rate) || !/[1-9]/.test(rate)) {
      throw fail('rate', `'${rate}' is not a positive decimal like 0.92345 (at most 12 decimals)`);
    }
    if (!INSTANT.test(effectiveAt) || Number.isNaN(Date.parse(effectiveAt))) {
      throw fail('effective_at', `'${effectiveAt}' is not an ISO-8601 instant with offset`);
    }
    quotes.push({ base, quote, rate, effectiveAt, source: source === '' ? defaultSource : source });
  }
  return quotes;
}

/** A provider over a CSV file's contents (what `npm run fx:upload` uses). */
export function csvFxRateProvider(name: string, text: string): FxRateProvider {
  return { name, rates: () => Promise.resolve(parseFxRatesCsv(text, name)) };
}
