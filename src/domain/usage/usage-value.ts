// The numbers a meter aggregates arrive as JSON numbers or decimal strings. They are turned into a
// canonical decimal string once, at the edge, and from then on only exact decimal arithmetic touches
// them (src/domain/pricing/exact.ts): a float never enters a sum that ends up on an invoice.

/** Up to 30 integer digits and 18 fractional digits: what exact.ts and Postgres numeric keep exactly. */
const DECIMAL_STRING = /^(-?)(\d{1,30})(?:\.(\d{1,18}))?$/;

export type UsageValueResult =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly message: string };

/** '007.50' → '7.5', '-0' → '0': one spelling per number, so equal values compare and key equal. */
function canonical(minus: string, whole: string, fraction: string): string {
  const trimmedWhole = whole.replace(/^0+(?=\d)/, '');
  const trimmedFraction = fraction.replace(/0+$/, '');
  const body = trimmedFraction === '' ? trimmedWhole : `${trimmedWhole}.${trimmedFraction}`;
  return minus === '-' && /[1-9]/.test(body) ? `-${body}` : body;
}

/** 1e21 → '1000000000000000000000', 1.5e-7 → '0.00000015' (Number's shortest round-trip digits). */
function expandExponent(text: string): string | undefined {
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (match === null) return undefined;
  const [, minus = '', lead = '', rest = '', exponentText = '0'] = match;
  const digits = `${lead}${rest}`;
  const exponent = Number(exponentText);
  const pointAt = 1 + exponent;
  if (pointAt <= 0) return `${minus}0.${'0'.repeat(-pointAt)}${digits}`;
  if (pointAt >= digits.length) return `${minus}${digits}${'0'.repeat(pointAt - digits.length)}`;
  return `${minus}${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
}

/**
 * A property value as an exact decimal string. JSON numbers are taken at their shortest round-trip
 * spelling (0.1 → '0.1', which is what the client wrote); integers beyond 2^53 cannot have survived
 * JSON.parse intact, so they must come as strings.
 */
export function usageValueOf(raw: unknown): UsageValueResult {
  let text: string;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return { ok: false, message: 'must be a finite number' };
    if (Number.isInteger(raw) && !Number.isSafeInteger(raw)) {
      return {
        ok: false,
        message: 'integers above 2^53 lose digits in JSON numbers; send them as a decimal string',
      };
    }
    const spelled = String(raw);
    text = expandExponent(spelled) ?? spelled;
  } else if (typeof raw === 'string') {
    text = raw;
  } else {
    return { ok: false, message: 'must be a number or a decimal string' };
  }
  const match = DECIMAL_STRING.exec(text);
  if (match === null) {
    return { ok: false, message: 'must be a decimal with at most 30 integer and 18 fractional digits' };
  }
  const [, minus = '', whole = '0', fraction = ''] = match;
  return { ok: true, value: canonical(minus, whole, fraction) };
}
