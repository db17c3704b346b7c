import { readFileSync } from 'node:fs';
import path from 'node:path';
import { csvFxRateProvider, FxRateFormatError, type FxRateProvider } from '../fx/fx-rate-provider';

/**
 * `npm run fx:upload -- rates.csv`: uploads dated exchange rates to a tenant through the API
 * (`POST /v1/fx_rates`, 10,000 per request, each request idempotent). The CSV has the header
 * `base,quote,rate,effective_at,source`. Needs LEDGERLINE_API_KEY (the tenant's secret key) and
 * LEDGERLINE_API_URL (default http://127.0.0.1:3000).
 */
const CHUNK = 10_000;

async function upload(provider: FxRateProvider, apiUrl: string, apiKey: string): Promise<void> {
  const rates = await provider.rates();
  let inserted = 0;
  let unchanged = 0;
  for (let start = 0; start < rates.length; start += CHUNK) {
    const chunk = rates.slice(start, start + CHUNK);
    const body = JSON.stringify({
      rates: chunk.map((r) => ({
        base: r.base,
        quote: r.quote,
        rate: r.rate,
        effective_at: r.effectiveAt,
        source: r.source,
      })),
    });
    const response = await fetch(`${apiUrl}/v1/fx_rates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body,
    });
    const json = (await response.json()) as { inserted?: number; unchanged?: number; detail?: string };
    if (response.status !== 201) {
      throw new Error(
        `rows ${start + 2}..${start + chunk.length + 1}: HTTP ${response.status} ${json.detail ?? ''}`,
      );
    }
    inserted += json.inserted ?? 0;
    unchanged += json.unchanged ?? 0;
  }
  console.log(`${provider.name}: ${rates.length} rates, ${inserted} new, ${unchanged} already stored`);
}

async function main(): Promise<void> {
  const file = process.argv[2];
  const apiKey = process.env.LEDGERLINE_API_KEY ?? '';
  if (file === undefined || apiKey === '') {
    throw new Error('usage: LEDGERLINE_API_KEY=sk_… npm run fx:upload -- <rates.csv>');
  }
  const provider = csvFxRateProvider(path.basename(file), readFileSync(file, 'utf8'));
  await upload(provider, process.env.LEDGERLINE_API_URL ?? 'http://127.0.0.1:3000', apiKey);
}

main().catch((error: unknown) => {
  const prefix = error instanceof FxRateFormatError ? 'ERROR: bad CSV' : 'ERROR';
  console.error(`${prefix}: ${(error as Error).message}`);
  process.exitCode = 1;
});
