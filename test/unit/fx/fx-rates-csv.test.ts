import { csvFxRateProvider, FxRateFormatError, parseFxRatesCsv } from '../../../src/fx/fx-rate-provider';

describe('uploading FX rates from a CSV file', () => {
  it('reads exact decimal rates with their effective instant and source', async () => {
    const provider = csvFxRateProvider(
      'ecb-2026-02.csv',
      [
        'base,quote,rate,effective_at,source',
        'USD,EUR,0.92345,2026-02-28T16:00:00Z,ECB',
        'USD,JPY,150.25,2026-02-28T16:00:00+01:00,',
        '',
      ].join('\r\n'),
    );
    expect(await provider.rates()).toEqual([
      { base: 'USD', quote: 'EUR', rate: '0.92345', effectiveAt: '2026-02-28T16:00:00Z', source: 'ECB' },
      // No source on the line: the file's name is the source recorded with the rate.
      {
        base: 'USD',
        quote: 'JPY',
        rate: '150.25',
        effectiveAt: '2026-02-28T16:00:00+01:00',
        source: 'ecb-2026-02.csv',
      },
    ]);
  });

  it.each([
    ['USD,EUR,0.9e1,2026-02-01T00:00:00Z', /line 2, rate/],
    ['USD,EUR,0,2026-02-01T00:00:00Z', /line 2, rate/],
    ['USD,USD,1,2026-02-01T00:00:00Z', /line 2, quote: must differ/],
    ['usd,EUR,1,2026-02-01T00:00:00Z', /line 2, base/],
    ['USD,EUR,0.9,2026-02-01', /line 2, effective_at/],
  ])('refuses %s, naming the line and the column, instead of skipping it', (line, message) => {
    expect(() => parseFxRatesCsv(`base,quote,rate,effective_at,source\n${line}`, 'f')).toThrow(
      FxRateFormatError,
    );
    expect(() => parseFxRatesCsv(`base,quote,rate,effective_at,source\n${line}`, 'f')).toThrow(message);
  });

  it('refuses a file without the header', () => {
    expect(() => parseFxRatesCsv('USD,EUR,0.9,2026-02-01T00:00:00Z,ECB', 'f')).toThrow(/line 1/);
  });
});
