import {
  InvalidTaxRequestError,
  MissingRegionError,
  RateNotFoundError,
  UnsupportedJurisdictionError,
} from '../../../../src/domain/tax/errors';
import { LEGAL_NOTES } from '../../../../src/domain/tax/legal-notes';
import { RATES_VERSION } from '../../../../src/domain/tax/rates';
import { calculateTableTax, createTableTaxProvider } from '../../../../src/domain/tax/table-tax-provider';
import { IDS, business, consumer, line, request, seller } from './fixtures';

// Golden invoices: who sells what to whom, and the tax the built-in tables charge, with the
// arithmetic in the comments. Rounding is half-even unless a test says otherwise.

const GERMAN_SELLER = seller({ country: 'DE', euOss: true });
const FRENCH_SELLER = seller({ country: 'FR', euOss: true });

describe('the provider', () => {
  it('is synchronous, pure and names its tables', () => {
    const provider = createTableTaxProvider();
    const asked = request({ seller: GERMAN_SELLER, buyer: consumer('DE'), lines: [line(4900)] });
    const first = provider.calculate(asked);
    expect(provider.name).toBe('ledgerline-tables');
    expect(first).toEqual(provider.calculate(asked));
    expect(calculateTableTax(asked).source).toBe(RATES_VERSION);
  });
});

describe('EU VAT', () => {
  it('a German consumer of a German seller pays 19 %: 49.00 → 9.31 VAT', () => {
    // 4900 × 19 / 100 = 931 exactly.
    const result = calculateTableTax(
      request({ seller: GERMAN_SELLER, buyer: consumer('DE'), lines: [line(4900)] }),
    );
    expect(result).toEqual({
      lines: [
        {
          ref: '0',
          netAmountMinor: 4900,
          taxAmountMinor: 931,
          treatment: 'taxed',
          components: [
            { jurisdiction: 'DE', taxName: 'VAT', ratePercent: '19', rateKind: 'standard', amountMinor: 931 },
          ],
        },
      ],
      summary: [
        {
          jurisdiction: 'DE',
          taxName: 'VAT',
          ratePercent: '19',
          rateKind: 'standard',
          treatment: 'taxed',
          taxableAmountMinor: 4900,
          taxAmountMinor: 931,
        },
      ],
      netTotalMinor: 4900,
      taxTotalMinor: 931,
      legalNotes: [],
      buyerTaxIdUsed: null,
      source: RATES_VERSION,
    });
  });

  it('a German company buying from a German seller is charged German VAT too (domestic B2B)', () => {
    const result = calculateTableTax(
      request({ seller: GERMAN_SELLER, buyer: business('DE', IDS.de), lines: [line(4900)] }),
    );
    expect(result.lines[0]).toMatchObject({ treatment: 'taxed', taxAmountMinor: 931 });
    expect(result.buyerTaxIdUsed).toEqual({ type: 'eu_vat', value: 'DE136695976' });
  });

  it('a French seller reverse-charges a German company with a valid VAT id: 0 % and the Article 196 mention', () => {
    const result = calculateTableTax(
      request({ seller: FRENCH_SELLER, buyer: business('DE', IDS.de), lines: [line(49000)] }),
    );
    expect(result.lines).toEqual([
      { ref: '0', netAmountMinor: 49000, taxAmountMinor: 0, treatment: 'reverse_charge', components: [] },
    ]);
    // The supply is still listed, at 0 %, under the buyer's country (EC sales list / OSS report).
    expect(result.summary).toEqual([
      {
        jurisdiction: 'DE',
        taxName: 'VAT',
        ratePercent: '0',
        rateKind: 'none',
        treatment: 'reverse_charge',
        taxableAmountMinor: 49000,
        taxAmountMinor: 0,
      },
    ]);
    expect(result.legalNotes).toEqual([LEGAL_NOTES.euReverseCharge]);
    expect(result.legalNotes[0]).toMatch(/Reverse charge/);
    expect(result.legalNotes[0]).toContain('Article 196, Council Directive 2006/112/EC');
    expect(result.buyerTaxIdUsed).toEqual({ type: 'eu_vat', value: 'DE136695976' });
    expect(result.taxTotalMinor).toBe(0);
  });

  it('a VAT id that fails its checksum does not make the sale B2B: German VAT is charged via the OSS', () => {
    // 49000 × 19 % = 9310.
    const result = calculateTableTax(
      request({
        seller: FRENCH_SELLER,
        buyer: business('DE', { type: 'eu_vat', value: 'DE136695977' }),
        lines: [line(49000)],
      }),
    );
    expect(result.lines[0]).toMatchObject({ treatment: 'taxed', taxAmountMinor: 9310 });
    expect(result.buyerTaxIdUsed).toBeNull();
  });

  it('a valid VAT id of another country than the buyer’s address is not accepted', () => {
    const result = calculateTableTax(
      request({ seller: GERMAN_SELLER, buyer: business('AT', IDS.fr), lines: [line(10000)] }),
    );
    // Austrian consumer via the OSS: 10000 × 20 % = 2000.
    expect(result.lines[0]).toMatchObject({ treatment: 'taxed', taxAmountMinor: 2000 });
  });

  describe('an Irish seller of SaaS to an Italian consumer', () => {
    const italian = consumer('IT');

    it('charges Italy’s 22 % when registered for the OSS: 29.99 → 6.60', () => {
      // 2999 × 22 / 100 = 659.78 → 660.
      const result = calculateTableTax(
        request({ seller: seller({ country: 'IE', euOss: true }), buyer: italian, lines: [line(2999)] }),
      );
      expect(result.lines[0]?.components).toEqual([
        { jurisdiction: 'IT', taxName: 'VAT', ratePercent: '22', rateKind: 'standard', amountMinor: 660 },
      ]);
    });

    it('charges Ireland’s 23 % below the OSS threshold: 29.99 → 6.90', () => {
      // 2999 × 23 / 100 = 689.77 → 690.
      const result = calculateTableTax(
        request({ seller: seller({ country: 'IE', euOss: false }), buyer: italian, lines: [line(2999)] }),
      );
      expect(result.lines[0]?.components).toEqual([
        { jurisdiction: 'IE', taxName: 'VAT', ratePercent: '23', rateKind: 'standard', amountMinor: 690 },
      ]);
    });

    it('charges Italy’s 4 % on an e-book and Ireland’s 23 % on consulting (taxed where the supplier is)', () => {
      // e-book: 2999 × 4 % = 119.96 → 120; consulting: 2999 × 23 % = 689.77 → 690.
      const result = calculateTableTax(
        request({
          seller: seller({ country: 'IE', euOss: true }),
          buyer: italian,
          lines: [
            line(2999, { ref: 'book', category: 'ebooks' }),
            line(2999, { ref: 'help', category: 'general_services' }),
          ],
        }),
      );
      expect(
        result.lines.map((l) => [
          l.components[0]?.jurisdiction,
          l.components[0]?.ratePercent,
          l.taxAmountMinor,
        ]),
      ).toEqual([
        ['IT', '4', 120],
        ['IE', '23', 690],
      ]);
      expect(result.summary).toHaveLength(2);
    });
  });

  it('an EU sale to a country outside the EU is outside the scope of EU VAT, with the mention', () => {
    const result = calculateTableTax(
      request({ seller: GERMAN_SELLER, buyer: consumer('BR'), lines: [line(10000)] }),
    );
    expect(result.lines[0]).toMatchObject({ treatment: 'outside_scope', taxAmountMinor: 0 });
    expect(result.summary[0]).toMatchObject({
      jurisdiction: 'DE',
      treatment: 'outside_scope',
      taxableAmountMinor: 10000,
    });
    expect(result.legalNotes).toEqual([LEGAL_NOTES.euOutsideScope]);
  });

  it('a US seller without an EU registration does not charge EU consumers (no_registration)', () => {
    const result = calculateTableTax(
      request({ seller: seller({ country: 'US' }), buyer: consumer('FR'), lines: [line(10000)] }),
    );
    expect(result.lines[0]).toMatchObject({ treatment: 'no_registration', taxAmountMinor: 0 });
    expect(result.summary[0]).toMatchObject({ jurisdiction: 'FR', treatment: 'no_registration' });
  });

  it('a US seller in the non-Union OSS charges the French consumer 20 %', () => {
    const result = calculateTableTax(
      request({
        seller: seller({ country: 'US', euOss: true }),
        buyer: consumer('FR'),
        lines: [line(10000)],
      }),
    );
    expect(result.lines[0]).toMatchObject({ treatment: 'taxed', taxAmountMinor: 2000 });
  });
});

describe('UK, Swiss and Norwegian VAT', () => {
  it('a UK seller charges a UK consumer 20 %: 29.99 GBP → 6.00', () => {
    // 2999 × 20 / 100 = 599.8 → 600.
    const result = calculateTableTax(
      request({
        currency: 'GBP',
        seller: seller({ country: 'GB' }),
        buyer: consumer('GB'),
        lines: [line(2999)],
      }),
    );
    expect(result.lines[0]?.components).toEqual([
      { jurisdiction: 'GB', taxName: 'VAT', ratePercent: '20', rateKind: 'standard', amountMinor: 600 },
    ]);
  });

  it('a German seller registered in the UK charges UK VAT to UK consumers, not German VAT', () => {
    const result = calculateTableTax(
      request({
        seller: seller({ country: 'DE', euOss: true, countries: ['GB'] }),
        buyer: consumer('GB'),
        lines: [line(2999)],
      }),
    );
    expect(result.lines[0]?.components[0]).toMatchObject({ jurisdiction: 'GB', amountMinor: 600 });
  });

  it('the same seller without a UK registration does not charge (no_registration)', () => {
    const result = calculateTableTax(
      request({ seller: GERMAN_SELLER, buyer: consumer('GB'), lines: [line(2999)] }),
    );
    expect(result.lines[0]?.treatment).toBe('no_registration');
  });

  it.each([
    ['GB', IDS.gb, LEGAL_NOTES.gbReverseCharge],
    ['CH', IDS.ch, LEGAL_NOTES.chReverseCharge],
    ['NO', IDS.no, LEGAL_NOTES.noReverseCharge],
  ] as const)(
    'a business in %s buying from abroad self-accounts (reverse charge with the mention)',
    (country, id, note) => {
      const result = calculateTableTax(
        request({
          seller: seller({ country: 'DE', countries: ['GB', 'CH', 'NO'] }),
          buyer: business(country, id),
          lines: [line(10000)],
        }),
      );
      expect(result.lines[0]).toMatchObject({ treatment: 'reverse_charge', taxAmountMinor: 0 });
      expect(result.summary[0]).toMatchObject({ jurisdiction: country, treatment: 'reverse_charge' });
      expect(result.legalNotes).toEqual([note]);
    },
  );

  it('a Swiss seller charges 8.1 %: 100.00 CHF → 8.10; an e-book 2.6 %', () => {
    const result = calculateTableTax(
      request({
        currency: 'CHF',
        seller: seller({ country: 'CH' }),
        buyer: consumer('CH'),
        lines: [line(10000, { ref: 'saas' }), line(10000, { ref: 'book', category: 'ebooks' })],
      }),
    );
    expect(result.lines.map((l) => l.taxAmountMinor)).toEqual([810, 260]);
  });
});

describe('US sales tax (state level)', () => {
  const nexus = seller({ country: 'US', region: 'DE', usNexusStates: ['CA', 'TX', 'NY', 'CT'] });
  const saasTo = (state: string, amountMinor = 12345) =>
    calculateTableTax(
      request({ currency: 'USD', seller: nexus, buyer: consumer('US', state), lines: [line(amountMinor)] }),
    );

  it('California does not tax SaaS', () => {
    const result = saasTo('CA');
    expect(result.lines[0]).toMatchObject({ treatment: 'not_taxable', taxAmountMinor: 0, components: [] });
    expect(result.summary[0]).toMatchObject({
      jurisdiction: 'US-CA',
      taxName: 'Sales tax',
      treatment: 'not_taxable',
    });
  });

  it('Texas taxes 80 % of a SaaS price at 6.25 %: 123.45 → 6.17 (an effective 5 %)', () => {
    // 12345 × 6.25 % × 80 % = 12345 × 5 % = 617.25 → 617; the reported taxable base is 80 %: 9876.
    const result = saasTo('TX');
    expect(result.lines[0]?.components).toEqual([
      {
        jurisdiction: 'US-TX',
        taxName: 'Sales tax',
        ratePercent: '6.25',
        rateKind: 'partial_base',
        amountMinor: 617,
      },
    ]);
    expect(result.summary[0]).toMatchObject({ taxableAmountMinor: 9876, taxAmountMinor: 617 });
  });

  it('New York taxes SaaS at the 4 % state rate: 123.45 → 4.94', () => {
    // 12345 × 4 % = 493.8 → 494.
    expect(saasTo('NY').lines[0]?.components[0]).toMatchObject({
      jurisdiction: 'US-NY',
      ratePercent: '4',
      amountMinor: 494,
    });
  });

  it('Connecticut taxes SaaS as data processing at 1 %: 123.45 → 1.23', () => {
    // 12345 × 1 % = 123.45 → 123.
    expect(saasTo('CT').lines[0]?.components[0]).toMatchObject({
      ratePercent: '1',
      rateKind: 'reduced',
      amountMinor: 123,
    });
  });

  it('without nexus in Washington nothing is collected there (no_registration)', () => {
    expect(saasTo('WA').lines[0]?.treatment).toBe('no_registration');
    expect(saasTo('WA').summary[0]?.jurisdiction).toBe('US-WA');
  });

  it('an exempt non-profit in New York pays no sales tax; the invoice records the certificate', () => {
    const result = calculateTableTax(
      request({
        currency: 'USD',
        seller: nexus,
        buyer: { ...consumer('US', 'NY'), exemption: { reason: 'non_profit', certificate: 'ST-119.1-0042' } },
        lines: [line(12345)],
      }),
    );
    expect(result.lines[0]).toMatchObject({ treatment: 'exempt', taxAmountMinor: 0, netAmountMinor: 12345 });
    expect(result.summary).toEqual([
      {
        jurisdiction: 'US-NY',
        taxName: 'Sales tax',
        ratePercent: '0',
        rateKind: 'none',
        treatment: 'exempt',
        taxableAmountMinor: 12345,
        taxAmountMinor: 0,
      },
    ]);
    expect(result.legalNotes).toEqual([
      'Tax exempt: non-profit organisation, exemption certificate ST-119.1-0042.',
    ]);
  });

  it('an exemption changes nothing where no tax was due anyway (no note)', () => {
    const result = calculateTableTax(
      request({
        currency: 'USD',
        seller: nexus,
        buyer: { ...consumer('US', 'CA'), exemption: { reason: 'non_profit', certificate: 'X' } },
        lines: [line(12345)],
      }),
    );
    expect(result.lines[0]?.treatment).toBe('not_taxable');
    expect(result.legalNotes).toEqual([]);
  });

  it('Ohio taxes SaaS bought for business use only; Iowa for personal use only', () => {
    const ohioIowa = seller({ country: 'US', usNexusStates: ['OH', 'IA'] });
    const treatments = [
      consumer('US', 'OH'),
      business('US', IDS.us, 'OH'),
      consumer('US', 'IA'),
      business('US', IDS.us, 'IA'),
    ].map(
      (buyer) =>
        calculateTableTax(request({ currency: 'USD', seller: ohioIowa, buyer, lines: [line(10000)] }))
          .lines[0]?.treatment,
    );
    expect(treatments).toEqual(['not_taxable', 'taxed', 'taxed', 'not_taxable']);
  });
});

describe('Canada', () => {
  const canadian = seller({ country: 'CA', region: 'ON' });

  it('Ontario: HST 13 % in one component: 100.00 CAD → 13.00', () => {
    const result = calculateTableTax(
      request({ currency: 'CAD', seller: canadian, buyer: consumer('CA', 'ON'), lines: [line(10000)] }),
    );
    expect(result.lines[0]?.components).toEqual([
      { jurisdiction: 'CA-ON', taxName: 'HST', ratePercent: '13', rateKind: 'standard', amountMinor: 1300 },
    ]);
  });

  it('Quebec: GST 5 % federal + QST 9.975 % provincial: 100.00 CAD → 5.00 + 9.98', () => {
    // GST 10000 × 5 % = 500; QST 10000 × 9.975 % = 997.5 → half-even 998 (the tie goes to the even neighbour).
    const result = calculateTableTax(
      request({ currency: 'CAD', seller: canadian, buyer: consumer('CA', 'QC'), lines: [line(10000)] }),
    );
    expect(result.lines[0]?.components).toEqual([
      { jurisdiction: 'CA', taxName: 'GST', ratePercent: '5', rateKind: 'standard', amountMinor: 500 },
      { jurisdiction: 'CA-QC', taxName: 'QST', ratePercent: '9.975', rateKind: 'standard', amountMinor: 998 },
    ]);
    expect(result.taxTotalMinor).toBe(1498);
    expect(result.summary.map((row) => row.jurisdiction)).toEqual(['CA', 'CA-QC']);
  });

  it('Quebec with half-down rounding: the QST tie rounds toward zero to 997', () => {
    const result = calculateTableTax(
      request({
        currency: 'CAD',
        roundingMode: 'half_down',
        seller: canadian,
        buyer: consumer('CA', 'QC'),
        lines: [line(10000)],
      }),
    );
    expect(result.lines[0]?.components.map((c) => c.amountMinor)).toEqual([500, 997]);
  });

  it('British Columbia adds PST 7 % to SaaS but not to consulting', () => {
    const result = calculateTableTax(
      request({
        currency: 'CAD',
        seller: canadian,
        buyer: consumer('CA', 'BC'),
        lines: [line(10000, { ref: 'saas' }), line(10000, { ref: 'help', category: 'general_services' })],
      }),
    );
    expect(result.lines.map((l) => l.components.map((c) => `${c.taxName} ${c.amountMinor}`))).toEqual([
      ['GST 500', 'PST 700'],
      ['GST 500'],
    ]);
  });

  it('Alberta: GST only', () => {
    const result = calculateTableTax(
      request({ currency: 'CAD', seller: canadian, buyer: consumer('CA', 'AB'), lines: [line(10000)] }),
    );
    expect(result.taxTotalMinor).toBe(500);
  });

  it('a non-resident registered for GST charges consumers but not registrants who give their BN', () => {
    const foreign = seller({ country: 'US', countries: ['CA'] });
    const toConsumer = calculateTableTax(
      request({ currency: 'CAD', seller: foreign, buyer: consumer('CA', 'ON'), lines: [line(10000)] }),
    );
    const toBusiness = calculateTableTax(
      request({
        currency: 'CAD',
        seller: foreign,
        buyer: business('CA', IDS.ca, 'ON'),
        lines: [line(10000)],
      }),
    );
    expect(toConsumer.taxTotalMinor).toBe(1300);
    expect(toBusiness.lines[0]?.treatment).toBe('reverse_charge');
    expect(toBusiness.legalNotes).toEqual([LEGAL_NOTES.caReverseCharge]);
  });

  it('Nova Scotia: HST 15 % until 2025-03-31, 14 % from 2025-04-01', () => {
    const taxOn = (taxDate: string) =>
      calculateTableTax(
        request({
          currency: 'CAD',
          taxDate,
          seller: canadian,
          buyer: consumer('CA', 'NS'),
          lines: [line(10000)],
        }),
      ).taxTotalMinor;
    expect([taxOn('2025-03-31'), taxOn('2025-04-01')]).toEqual([1500, 1400]);
  });
});

describe('Australia, New Zealand, Singapore', () => {
  it('an Australian seller charges 10 % GST: 49.00 AUD → 4.90', () => {
    const result = calculateTableTax(
      request({
        currency: 'AUD',
        seller: seller({ country: 'AU' }),
        buyer: consumer('AU'),
        lines: [line(4900)],
      }),
    );
    expect(result.lines[0]?.components).toEqual([
      { jurisdiction: 'AU', taxName: 'GST', ratePercent: '10', rateKind: 'standard', amountMinor: 490 },
    ]);
  });

  it('an Australian seller also charges an Australian business (domestic B2B)', () => {
    const result = calculateTableTax(
      request({
        currency: 'AUD',
        seller: seller({ country: 'AU' }),
        buyer: business('AU', IDS.au),
        lines: [line(4900)],
      }),
    );
    expect(result.taxTotalMinor).toBe(490);
  });

  it.each([
    ['AU', IDS.au, LEGAL_NOTES.auReverseCharge, 'Division 84'],
    ['NZ', IDS.nz, LEGAL_NOTES.nzReverseCharge, 'section 8(4B)'],
    ['SG', IDS.sg, LEGAL_NOTES.sgReverseCharge, 'reverse charge'],
  ] as const)(
    'a registered non-resident does not charge a %s business with a valid number: reverse charge',
    (country, id, note, law) => {
      const result = calculateTableTax(
        request({
          seller: seller({ country: 'IE', countries: ['AU', 'NZ', 'SG'] }),
          buyer: business(country, id),
          lines: [line(10000)],
        }),
      );
      expect(result.lines[0]?.treatment).toBe('reverse_charge');
      expect(result.legalNotes).toEqual([note]);
      expect(note).toContain(law);
    },
  );

  it('a registered non-resident charges consumers: NZ 15 %, SG 9 %', () => {
    const foreign = seller({ country: 'IE', countries: ['NZ', 'SG'] });
    const taxFor = (country: string) =>
      calculateTableTax(request({ seller: foreign, buyer: consumer(country), lines: [line(10000)] }))
        .taxTotalMinor;
    expect([taxFor('NZ'), taxFor('SG')]).toEqual([1500, 900]);
  });

  it('Singapore: 8 % for a tax point in 2023, 9 % from 2024-01-01', () => {
    const taxOn = (taxDate: string) =>
      calculateTableTax(
        request({
          currency: 'SGD',
          taxDate,
          seller: seller({ country: 'SG' }),
          buyer: consumer('SG'),
          lines: [line(10000)],
        }),
      ).taxTotalMinor;
    expect([taxOn('2023-12-31'), taxOn('2024-01-01')]).toEqual([800, 900]);
  });
});

describe('India GST', () => {
  const mumbaiSeller = seller({ country: 'IN', region: 'MH', inGstState: 'MH' });

  it('within Maharashtra: CGST 9 % + SGST 9 %: 999.00 INR → 89.91 + 89.91', () => {
    // 99900 × 9 % = 8991 each.
    const result = calculateTableTax(
      request({ currency: 'INR', seller: mumbaiSeller, buyer: consumer('IN', 'MH'), lines: [line(99900)] }),
    );
    expect(result.lines[0]?.components).toEqual([
      { jurisdiction: 'IN', taxName: 'CGST', ratePercent: '9', rateKind: 'standard', amountMinor: 8991 },
      { jurisdiction: 'IN-MH', taxName: 'SGST', ratePercent: '9', rateKind: 'standard', amountMinor: 8991 },
    ]);
  });

  it('Maharashtra to Karnataka: IGST 18 %: 999.00 INR → 179.82', () => {
    const result = calculateTableTax(
      request({
        currency: 'INR',
        seller: mumbaiSeller,
        buyer: business('IN', { type: 'in_gst', value: '29AAPFU0939F1ZR' }, 'KA'),
        lines: [line(99900)],
      }),
    );
    expect(result.lines[0]?.components).toEqual([
      { jurisdiction: 'IN', taxName: 'IGST', ratePercent: '18', rateKind: 'standard', amountMinor: 17982 },
    ]);
  });

  it('within Chandigarh (a union territory without legislature): CGST + UTGST', () => {
    const result = calculateTableTax(
      request({
        currency: 'INR',
        seller: seller({ country: 'IN', inGstState: 'CH' }),
        buyer: consumer('IN', 'CH'),
        lines: [line(10000)],
      }),
    );
    expect(result.lines[0]?.components.map((c) => `${c.jurisdiction} ${c.taxName} ${c.ratePercent}`)).toEqual(
      ['IN CGST 9', 'IN-CH UTGST 9'],
    );
  });

  it('e-books at 5 % split 2.5 % + 2.5 % within a state', () => {
    // 10000 × 2.5 % = 250 each.
    const result = calculateTableTax(
      request({
        currency: 'INR',
        seller: mumbaiSeller,
        buyer: consumer('IN', 'MH'),
        lines: [line(10000, { category: 'ebooks' })],
      }),
    );
    expect(result.lines[0]?.components.map((c) => [c.ratePercent, c.amountMinor])).toEqual([
      ['2.5', 250],
      ['2.5', 250],
    ]);
  });

  it('a foreign OIDAR seller registered in India charges IGST to consumers and reverse-charges businesses', () => {
    const foreign = seller({ country: 'US', countries: ['IN'] });
    const toConsumer = calculateTableTax(
      request({ currency: 'INR', seller: foreign, buyer: consumer('IN', 'DL'), lines: [line(10000)] }),
    );
    const toBusiness = calculateTableTax(
      request({
        currency: 'INR',
        seller: foreign,
        buyer: business('IN', IDS.in, 'MH'),
        lines: [line(10000)],
      }),
    );
    expect(toConsumer.lines[0]?.components).toEqual([
      { jurisdiction: 'IN', taxName: 'IGST', ratePercent: '18', rateKind: 'standard', amountMinor: 1800 },
    ]);
    expect(toBusiness.lines[0]?.treatment).toBe('reverse_charge');
    expect(toBusiness.legalNotes).toEqual([LEGAL_NOTES.inReverseCharge]);
  });
});

describe('currencies with 0 and 3 decimals', () => {
  it('JPY: a US seller registered for Japanese consumption tax charges 10 %: ¥4,999 → ¥500', () => {
    // 4999 × 10 % = 499.9 → 500 yen (the minor unit is the yen itself).
    const result = calculateTableTax(
      request({
        currency: 'JPY',
        seller: seller({ country: 'US', countries: ['JP'] }),
        buyer: consumer('JP'),
        lines: [line(4999)],
      }),
    );
    expect(result.lines[0]?.components).toEqual([
      { jurisdiction: 'JP', taxName: 'JCT', ratePercent: '10', rateKind: 'standard', amountMinor: 500 },
    ]);
  });

  it('BHD: an Irish seller’s sale to Bahrain is outside the scope of EU VAT: 12.345 BHD, no tax', () => {
    const result = calculateTableTax(
      request({
        currency: 'BHD',
        seller: seller({ country: 'IE', euOss: true }),
        buyer: consumer('BH'),
        lines: [line(12345)],
      }),
    );
    expect(result).toMatchObject({
      netTotalMinor: 12345,
      taxTotalMinor: 0,
      legalNotes: [LEGAL_NOTES.euOutsideScope],
    });
  });

  it('BHD: German VAT on an invoice in fils rounds to the fils: 12.345 → 2.346', () => {
    // 12345 × 19 % = 2345.55 → 2346 fils (not a tie, rounds up).
    const result = calculateTableTax(
      request({ currency: 'BHD', seller: GERMAN_SELLER, buyer: consumer('DE'), lines: [line(12345)] }),
    );
    expect(result.taxTotalMinor).toBe(2346);
  });

  it('a seller registered in Bahrain needs a table the built-in provider does not have', () => {
    expect(() =>
      calculateTableTax(
        request({
          currency: 'BHD',
          seller: seller({ country: 'IE', countries: ['BH'] }),
          buyer: consumer('BH'),
          lines: [line(12345)],
        }),
      ),
    ).toThrow(UnsupportedJurisdictionError);
  });
});

describe('tax-inclusive prices', () => {
  it('119.00 including 19 % German VAT is 100.00 net + 19.00 VAT', () => {
    // tax = 11900 × 19 / 119 = 1900 exactly; net = 11900 − 1900 = 10000.
    const result = calculateTableTax(
      request({
        seller: GERMAN_SELLER,
        buyer: consumer('DE'),
        lines: [line(11900, { taxBehavior: 'inclusive' })],
      }),
    );
    expect(result.lines[0]).toMatchObject({ netAmountMinor: 10000, taxAmountMinor: 1900 });
    expect(result.summary[0]).toMatchObject({ taxableAmountMinor: 10000, taxAmountMinor: 1900 });
  });

  it('49.99 including 19 %: the tax is rounded once and the net is what is left', () => {
    // 4999 × 19 / 119 = 798.16… → 798; net = 4999 − 798 = 4201.
    const result = calculateTableTax(
      request({
        seller: GERMAN_SELLER,
        buyer: consumer('DE'),
        lines: [line(4999, { taxBehavior: 'inclusive' })],
      }),
    );
    expect(result.lines[0]).toMatchObject({ netAmountMinor: 4201, taxAmountMinor: 798 });
  });

  it('114.98 CAD including GST + QST: one rounding of the total, split so the parts add up', () => {
    // total rate 14.975 %: 11498 × 14.975 / 114.975 = 1497.56… → 1498; net 10000.
    // Split 5 : 9.975 → 500.17… and 997.83…: floors 500 + 997, the leftover cent to QST (larger remainder).
    const result = calculateTableTax(
      request({
        currency: 'CAD',
        seller: seller({ country: 'CA' }),
        buyer: consumer('CA', 'QC'),
        lines: [line(11498, { taxBehavior: 'inclusive' })],
      }),
    );
    expect(result.lines[0]).toMatchObject({ netAmountMinor: 10000, taxAmountMinor: 1498 });
    expect(result.lines[0]?.components.map((c) => c.amountMinor)).toEqual([500, 998]);
  });
});

describe('credits (negative lines) keep their sign', () => {
  it('−49.00 to a German consumer carries −9.31 VAT', () => {
    const result = calculateTableTax(
      request({ seller: GERMAN_SELLER, buyer: consumer('DE'), lines: [line(-4900)] }),
    );
    expect(result).toMatchObject({ netTotalMinor: -4900, taxTotalMinor: -931 });
    expect(result.summary[0]).toMatchObject({ taxableAmountMinor: -4900, taxAmountMinor: -931 });
  });
});

describe('a rate change in the middle of a billing period (Estonia, 22 % → 24 % on 2025-07-01)', () => {
  // A monthly plan billed in advance on the 15th: the period 2025-06-15 … 2025-07-15 straddles the
  // change. The tax point is the invoice date (docs/decisions/0009), so the invoice issued on
  // 2025-06-15 keeps 22 % for the whole period and the next one, issued 2025-07-15, carries 24 %.
  const estonian = seller({ country: 'EE' });
  const invoiceOn = (taxDate: string) =>
    calculateTableTax(request({ taxDate, seller: estonian, buyer: consumer('EE'), lines: [line(10000)] }));

  it('the invoice of 2025-06-15 is taxed at 22 %: 100.00 → 22.00', () => {
    expect(invoiceOn('2025-06-15').lines[0]?.components[0]).toMatchObject({
      ratePercent: '22',
      amountMinor: 2200,
    });
  });

  it('the invoice of 2025-07-15 is taxed at 24 %: 100.00 → 24.00', () => {
    expect(invoiceOn('2025-07-15').lines[0]?.components[0]).toMatchObject({
      ratePercent: '24',
      amountMinor: 2400,
    });
  });

  it('the last day of the old rate and the first of the new', () => {
    expect([invoiceOn('2025-06-30').taxTotalMinor, invoiceOn('2025-07-01').taxTotalMinor]).toEqual([
      2200, 2400,
    ]);
  });

  it('Finland 24 % → 25.5 % on 2024-09-01: 29.99 → 7.20 then 7.65', () => {
    // 2999 × 24 % = 719.76 → 720; 2999 × 25.5 % = 764.745 → 765.
    const taxOn = (taxDate: string) =>
      calculateTableTax(
        request({ taxDate, seller: seller({ country: 'FI' }), buyer: consumer('FI'), lines: [line(2999)] }),
      ).taxTotalMinor;
    expect([taxOn('2024-08-31'), taxOn('2024-09-01')]).toEqual([720, 765]);
  });
});

describe('an invoice with several lines', () => {
  it('taxes each line once and sums the summary per rate', () => {
    // Lines 1000, 2999, −500 at 19 %: 190, 569.81 → 570, −95. E-book 1500 at 7 %: 105.
    const result = calculateTableTax(
      request({
        seller: GERMAN_SELLER,
        buyer: consumer('DE'),
        lines: [
          line(1000, { ref: 'a' }),
          line(2999, { ref: 'b' }),
          line(-500, { ref: 'c' }),
          line(1500, { ref: 'd', category: 'ebooks' }),
        ],
      }),
    );
    expect(result.lines.map((l) => l.taxAmountMinor)).toEqual([190, 570, -95, 105]);
    expect(
      result.summary.map((row) => [
        row.ratePercent,
        row.rateKind,
        row.taxableAmountMinor,
        row.taxAmountMinor,
      ]),
    ).toEqual([
      ['19', 'standard', 3499, 665],
      ['7', 'reduced', 1500, 105],
    ]);
    expect(result).toMatchObject({ netTotalMinor: 4999, taxTotalMinor: 770 });
  });

  it('collects each legal mention once', () => {
    const result = calculateTableTax(
      request({
        seller: FRENCH_SELLER,
        buyer: business('DE', IDS.de),
        lines: [line(100, { ref: 'a' }), line(200, { ref: 'b' })],
      }),
    );
    expect(result.legalNotes).toEqual([LEGAL_NOTES.euReverseCharge]);
    expect(result.summary).toHaveLength(1);
    expect(result.summary[0]?.taxableAmountMinor).toBe(300);
  });
});

describe('what the tables cannot answer is an error, never a silent 0 %', () => {
  it('a US buyer without a state, when the seller has nexus somewhere', () => {
    expect(() =>
      calculateTableTax(
        request({
          currency: 'USD',
          seller: seller({ country: 'US', usNexusStates: ['NY'] }),
          buyer: consumer('US'),
          lines: [line(100)],
        }),
      ),
    ).toThrow(MissingRegionError);
  });

  it('a Canadian buyer without a province, when the seller collects GST', () => {
    expect(() =>
      calculateTableTax(
        request({ seller: seller({ country: 'CA' }), buyer: consumer('CA'), lines: [line(100)] }),
      ),
    ).toThrow(MissingRegionError);
  });

  it('a nexus state that is not a state', () => {
    expect(() =>
      calculateTableTax(
        request({
          currency: 'USD',
          seller: seller({ country: 'US', usNexusStates: ['PR'] }),
          buyer: consumer('US', 'PR'),
          lines: [line(100)],
        }),
      ),
    ).toThrow(UnsupportedJurisdictionError);
  });

  it('a domestic sale in a country without a table', () => {
    expect(() =>
      calculateTableTax(
        request({ seller: seller({ country: 'BR' }), buyer: consumer('BR'), lines: [line(100)] }),
      ),
    ).toThrow(UnsupportedJurisdictionError);
  });

  it('a tax date before the tables start', () => {
    expect(() =>
      calculateTableTax(
        request({ taxDate: '2021-06-30', seller: GERMAN_SELLER, buyer: consumer('DE'), lines: [line(100)] }),
      ),
    ).toThrow(RateNotFoundError);
  });

  it.each([
    ['a malformed tax date', { taxDate: '2026-02-30' }],
    ['an unknown currency', { currency: 'EURO' }],
    ['an unknown rounding mode', { roundingMode: 'nearest' }],
  ])('%s', (_what, override) => {
    const bad = {
      ...request({ seller: GERMAN_SELLER, buyer: consumer('DE'), lines: [line(100)] }),
      ...override,
    };
    expect(() => calculateTableTax(bad as Parameters<typeof calculateTableTax>[0])).toThrow(
      InvalidTaxRequestError,
    );
  });

  it('duplicate line refs and fractional amounts', () => {
    const base = { seller: GERMAN_SELLER, buyer: consumer('DE') };
    expect(() => calculateTableTax(request({ ...base, lines: [line(1), line(2)] }))).toThrow(
      /duplicate line ref/,
    );
    expect(() => calculateTableTax(request({ ...base, lines: [line(1.5)] }))).toThrow(/safe integer/);
  });
});
