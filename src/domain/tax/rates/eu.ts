// VAT rates of the 27 EU member states, from 1 July 2021 (the start of the One-Stop Shop).
//
// Categories: SaaS and other electronically supplied services (Annex II of Council Directive
// 2006/112/EC) and general services (consulting, support) bear the standard rate everywhere; e-books
// may bear a reduced rate since Council Directive (EU) 2018/1713 (Art. 98(2) and Annex III point 6 of
// the VAT Directive as amended). Sources: each state's VAT act as cited per row, cross-checked with
// the European Commission's "VAT rates applied in the Member States" and its TEDB database. Rows
// marked UNCERTAIN were not confirmed against the statute: the standard rate is used where the
// reduced e-book rate itself is in doubt, so the error (if any) is over-collection, never under.
//
// Country codes are ISO 3166-1 (Greece is 'GR' here; its VAT numbers use the prefix 'EL').

import type { CountryRateTable, RatePeriod } from './types';

const FROM = '2021-07-01';

function standardOnly(ratePercent: string): readonly RatePeriod[] {
  return [{ effectiveFrom: FROM, ratePercent, rateKind: 'standard' }];
}

function country(
  code: string,
  name: string,
  standard: readonly RatePeriod[],
  ebooks: readonly RatePeriod[],
): CountryRateTable {
  return {
    country: code,
    name,
    taxName: 'VAT',
    rates: { saas: standard, general_services: standard, ebooks },
  };
}

// prettier-ignore
export const EU_MEMBER_STATES = [
  'AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE',
  'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE',
] as const;

export const EU_VAT_TABLES: readonly CountryRateTable[] = [
  // Umsatzsteuergesetz 1994 §10. E-books: 10 % since 2020; the temporary COVID rate of 5 % for
  // publications ran 2020-07-01 … 2021-12-31.
  country('AT', 'Austria', standardOnly('20'), [
    { effectiveFrom: FROM, effectiveTo: '2021-12-31', ratePercent: '5', rateKind: 'super_reduced' },
    { effectiveFrom: '2022-01-01', ratePercent: '10', rateKind: 'reduced' },
  ]),
  // Code de la TVA art. 37 and its Tableau A: e-books at 6 %.
  country('BE', 'Belgium', standardOnly('21'), [
    { effectiveFrom: FROM, ratePercent: '6', rateKind: 'reduced' },
  ]),
  // ЗДДС Art. 66: books at 9 %. UNCERTAIN that e-books (not only printed) qualify.
  country('BG', 'Bulgaria', standardOnly('20'), [
    { effectiveFrom: FROM, ratePercent: '9', rateKind: 'reduced' },
  ]),
  // Zakon o PDV-u Art. 38: books, including electronic, at 5 %.
  country('HR', 'Croatia', standardOnly('25'), [
    { effectiveFrom: FROM, ratePercent: '5', rateKind: 'super_reduced' },
  ]),
  // VAT Law N.95(I)/2000: books at 5 %. UNCERTAIN that e-books share the 5 % rate.
  country('CY', 'Cyprus', standardOnly('19'), [
    { effectiveFrom: FROM, ratePercent: '5', rateKind: 'reduced' },
  ]),
  // Zákon o DPH (235/2004 Sb.) §47: e-books 10 % until 2023; the 2024 consolidation package made
  // books, including electronic ones, exempt with credit (0 %). UNCERTAIN for e-books from 2024.
  country('CZ', 'Czechia', standardOnly('21'), [
    { effectiveFrom: FROM, effectiveTo: '2023-12-31', ratePercent: '10', rateKind: 'reduced' },
    { effectiveFrom: '2024-01-01', ratePercent: '0', rateKind: 'zero' },
  ]),
  // Momsloven §33: a single rate, no reduced rates.
  country('DK', 'Denmark', standardOnly('25'), standardOnly('25')),
  // Käibemaksuseadus §15: 20 % → 22 % on 2024-01-01 → 24 % on 2025-07-01; books and e-books at 9 %.
  country(
    'EE',
    'Estonia',
    [
      { effectiveFrom: FROM, effectiveTo: '2023-12-31', ratePercent: '20', rateKind: 'standard' },
      { effectiveFrom: '2024-01-01', effectiveTo: '2025-06-30', ratePercent: '22', rateKind: 'standard' },
      { effectiveFrom: '2025-07-01', ratePercent: '24', rateKind: 'standard' },
    ],
    [{ effectiveFrom: FROM, ratePercent: '9', rateKind: 'reduced' }],
  ),
  // Arvonlisäverolaki (1501/1993) §84: 24 % → 25.5 % on 2024-09-01. Books and e-books: 10 % → 14 %
  // on 2025-01-01 → 13.5 % on 2026-01-01 (the 14 % band lowered). UNCERTAIN: that the 2026 cut
  // covers the whole 14 % band, books included.
  country(
    'FI',
    'Finland',
    [
      { effectiveFrom: FROM, effectiveTo: '2024-08-31', ratePercent: '24', rateKind: 'standard' },
      { effectiveFrom: '2024-09-01', ratePercent: '25.5', rateKind: 'standard' },
    ],
    [
      { effectiveFrom: FROM, effectiveTo: '2024-12-31', ratePercent: '10', rateKind: 'reduced' },
      { effectiveFrom: '2025-01-01', effectiveTo: '2025-12-31', ratePercent: '14', rateKind: 'reduced' },
      { effectiveFrom: '2026-01-01', ratePercent: '13.5', rateKind: 'reduced' },
    ],
  ),
  // Code général des impôts art. 278 and 278-0 bis: books in any medium at 5.5 %.
  country('FR', 'France', standardOnly('20'), [
    { effectiveFrom: FROM, ratePercent: '5.5', rateKind: 'reduced' },
  ]),
  // UStG §12(1); e-publications at 7 % under §12(2) since 2019-12-18.
  country('DE', 'Germany', standardOnly('19'), [
    { effectiveFrom: FROM, ratePercent: '7', rateKind: 'reduced' },
  ]),
  // Κώδικας ΦΠΑ (ν. 2859/2000) Art. 21, Annex III: books incl. electronic at 6 %. UNCERTAIN for e-books.
  country('GR', 'Greece', standardOnly('24'), [
    { effectiveFrom: FROM, ratePercent: '6', rateKind: 'super_reduced' },
  ]),
  // 2007. évi CXXVII. törvény §82: 27 %. E-books: UNCERTAIN whether the 5 % book rate extends to
  // electronic books; the standard rate is used.
  country('HU', 'Hungary', standardOnly('27'), standardOnly('27')),
  // VAT Consolidation Act 2010, s. 46: 23 %. E-books 9 % until 2022, 0 % from 2023-01-01 (Finance Act 2022).
  country('IE', 'Ireland', standardOnly('23'), [
    { effectiveFrom: FROM, effectiveTo: '2022-12-31', ratePercent: '9', rateKind: 'reduced' },
    { effectiveFrom: '2023-01-01', ratePercent: '0', rateKind: 'zero' },
  ]),
  // DPR 633/1972 art. 16 and Tabella A parte II: books on any medium at 4 %.
  country('IT', 'Italy', standardOnly('22'), [
    { effectiveFrom: FROM, ratePercent: '4', rateKind: 'super_reduced' },
  ]),
  // PVN likums §41: 21 %. E-books: UNCERTAIN whether the reduced book rate covers electronic books;
  // the standard rate is used.
  country('LV', 'Latvia', standardOnly('21'), standardOnly('21')),
  // PVM įstatymas Art. 19: 21 %; books and non-periodical publications incl. electronic at 9 %.
  // UNCERTAIN for e-books.
  country('LT', 'Lithuania', standardOnly('21'), [
    { effectiveFrom: FROM, ratePercent: '9', rateKind: 'reduced' },
  ]),
  // Loi TVA du 12 février 1979 art. 39: 17 %, lowered to 16 % for 2023 only; e-books at 3 %.
  country(
    'LU',
    'Luxembourg',
    [
      { effectiveFrom: FROM, effectiveTo: '2022-12-31', ratePercent: '17', rateKind: 'standard' },
      { effectiveFrom: '2023-01-01', effectiveTo: '2023-12-31', ratePercent: '16', rateKind: 'standard' },
      { effectiveFrom: '2024-01-01', ratePercent: '17', rateKind: 'standard' },
    ],
    [{ effectiveFrom: FROM, ratePercent: '3', rateKind: 'super_reduced' }],
  ),
  // VAT Act Cap. 406: books incl. electronic at 5 %.
  country('MT', 'Malta', standardOnly('18'), [
    { effectiveFrom: FROM, ratePercent: '5', rateKind: 'reduced' },
  ]),
  // Wet OB 1968, Tabel I post a.7: books incl. e-books at 9 % (kept at 9 % by the 2025 budget).
  country('NL', 'Netherlands', standardOnly('21'), [
    { effectiveFrom: FROM, ratePercent: '9', rateKind: 'reduced' },
  ]),
  // Ustawa o podatku od towarów i usług: e-books at 5 %.
  country('PL', 'Poland', standardOnly('23'), [
    { effectiveFrom: FROM, ratePercent: '5', rateKind: 'reduced' },
  ]),
  // CIVA art. 18 and Lista I: books incl. electronic at 6 % (mainland rates, not Azores/Madeira).
  country('PT', 'Portugal', standardOnly('23'), [
    { effectiveFrom: FROM, ratePercent: '6', rateKind: 'reduced' },
  ]),
  // Codul fiscal art. 291: 19 % → 21 % on 2025-08-01 (Legea 141/2025), which also merged the 5 % and
  // 9 % rates into 11 %. Books incl. electronic: 5 % → 11 %. UNCERTAIN for e-books in both periods.
  country(
    'RO',
    'Romania',
    [
      { effectiveFrom: FROM, effectiveTo: '2025-07-31', ratePercent: '19', rateKind: 'standard' },
      { effectiveFrom: '2025-08-01', ratePercent: '21', rateKind: 'standard' },
    ],
    [
      { effectiveFrom: FROM, effectiveTo: '2025-07-31', ratePercent: '5', rateKind: 'reduced' },
      { effectiveFrom: '2025-08-01', ratePercent: '11', rateKind: 'reduced' },
    ],
  ),
  // Zákon o DPH (222/2004 Z. z.) §27: 20 % → 23 % on 2025-01-01. E-books: UNCERTAIN whether the
  // reduced book rate covers electronic books; the standard rate is used.
  (() => {
    const standard: readonly RatePeriod[] = [
      { effectiveFrom: FROM, effectiveTo: '2024-12-31', ratePercent: '20', rateKind: 'standard' },
      { effectiveFrom: '2025-01-01', ratePercent: '23', rateKind: 'standard' },
    ];
    return country('SK', 'Slovakia', standard, standard);
  })(),
  // ZDDV-1: books incl. electronic at the 5 % rate introduced in 2020.
  country('SI', 'Slovenia', standardOnly('22'), [
    { effectiveFrom: FROM, ratePercent: '5', rateKind: 'super_reduced' },
  ]),
  // Ley 37/1992 art. 91: books incl. electronic at 4 % (not Canary Islands, Ceuta, Melilla).
  country('ES', 'Spain', standardOnly('21'), [
    { effectiveFrom: FROM, ratePercent: '4', rateKind: 'super_reduced' },
  ]),
  // Mervärdesskattelag (2023:200): e-books at 6 %.
  country('SE', 'Sweden', standardOnly('25'), [
    { effectiveFrom: FROM, ratePercent: '6', rateKind: 'reduced' },
  ]),
];
