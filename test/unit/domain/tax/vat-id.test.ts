import { taxIdCountry, validateTaxId, TAX_ID_TYPES } from '../../../../src/domain/tax/vat-id';
import { notConfiguredVatIdVerifier } from '../../../../src/domain/tax/vat-id-verifier';
import {
  abnValid,
  gstinChecksumValid,
  irdValid,
  luhnValid,
} from '../../../../src/domain/tax/tax-id-checksums';

// Tax ids are checked offline (format + the issuer's check digit) before they are stored, because a
// wrong id silently turns a taxed sale into a reverse-charged one.

describe('normalization', () => {
  it("upper-cases and drops spaces, dots and dashes: 'de 136 695 976' → 'DE136695976'", () => {
    expect(validateTaxId({ type: 'eu_vat', value: 'de 136 695 976' })).toEqual({
      valid: true,
      normalized: 'DE136695976',
    });
  });

  it("keeps the Swiss and Norwegian suffixes: 'CHE-116.281.710 MWST' → 'CHE116281710MWST'", () => {
    expect(validateTaxId({ type: 'ch_vat', value: 'CHE-116.281.710 MWST' }).normalized).toBe(
      'CHE116281710MWST',
    );
    expect(validateTaxId({ type: 'no_vat', value: 'NO 974 760 673 MVA' }).normalized).toBe('NO974760673MVA');
  });

  it('normalizes even an id it refuses, so the caller can echo what it checked', () => {
    expect(validateTaxId({ type: 'eu_vat', value: 'de-136.695.977' })).toMatchObject({
      valid: false,
      normalized: 'DE136695977',
    });
  });
});

describe.each<[string, readonly string[], readonly string[]]>([
  // [type, valid, invalid]
  [
    'eu_vat',
    [
      'DE136695976',
      'FR40303265045',
      'ATU13585627',
      'IE6388047V',
      'NL004495445B01',
      'EL094259216',
      'ESA28015865',
    ],
    [
      'DE136695977',
      'FR40303265046',
      'GB980780684',
      'CHE116281710',
      'GR094259216',
      'XI980780684',
      '136695976',
    ],
  ],
  ['gb_vat', ['GB980780684', 'XI980780684'], ['GB123456789', 'DE136695976', '980780684']],
  [
    'ch_vat',
    ['CHE116281710', 'CHE-116.281.710 MWST', 'CHE-116.281.710 TVA'],
    ['CHE116281711', 'CH116281710'],
  ],
  ['no_vat', ['NO974760673', 'NO974760673MVA'], ['NO974760674', '974760673']],
  // ABN: ATO's worked example 51 824 753 556; the last digit changed breaks the mod-89 sum.
  ['au_abn', ['51 824 753 556', '53004085616'], ['51824753557', '5182475355', 'ABN51824753556']],
  // IRD: Inland Revenue's examples 49-091-850 and 35-901-981, 136-410-132; below 10,000,000 is invalid.
  ['nz_gst', ['49-091-850', '35-901-981', '136-410-132'], ['136-410-133', '9125568', '150000001']],
  // Format only (no public check digit): UENs of each kind and a GST-only M-number.
  [
    'sg_gst',
    ['200312345M', '53312345A', 'T08LL1234A', 'F00056789H', 'M90312345A'],
    ['2003123456', 'T08ZZ1234A', 'X1234'],
  ],
  // BN: 9 digits with a Luhn check digit, optionally its RT (GST/HST) program account.
  ['ca_bn', ['123026635', '12302 6635 RT 0001'], ['123456783', '123026635RC0001', '12302663']],
  // GSTIN: 27 = Maharashtra, PAN AAPFU0939F, entity 1, 'Z', mod-36 check character 'V'.
  [
    'in_gst',
    ['27AAPFU0939F1ZV', '27-AAPFU0939F1ZV'],
    ['27AAPFU0939F1ZO', '27AAPFU0939F1Z', '40AAPFU0939F1ZV'],
  ],
  // EIN: nine digits with an IRS-assigned prefix (07, 08, 09, 17 … are never assigned).
  ['us_ein', ['12-3456789', '98-7654321'], ['07-1234567', '12-345678', 'AB-3456789']],
])('%s', (type, valid, invalid) => {
  it.each(valid)('accepts %s', (value) => {
    expect(validateTaxId({ type, value })).toMatchObject({ valid: true });
  });

  it.each(invalid)('refuses %s with a reason', (value) => {
    const check = validateTaxId({ type, value });
    expect(check.valid).toBe(false);
    expect(check.reason).toEqual(expect.any(String));
  });
});

describe('reasons a caller can show', () => {
  it('a wrong check digit says so', () => {
    expect(validateTaxId({ type: 'eu_vat', value: 'DE136695977' }).reason).toBe('fails the check digit');
  });

  it("points Greek numbers to their 'EL' prefix", () => {
    expect(validateTaxId({ type: 'eu_vat', value: 'GR094259216' }).reason).toMatch(/'EL'/);
  });

  it('refuses a type outside the contract', () => {
    expect(validateTaxId({ type: 'br_cnpj', value: '11222333000181' })).toMatchObject({
      valid: false,
      reason: "unsupported tax id type 'br_cnpj'",
    });
  });

  it('refuses an empty value', () => {
    expect(validateTaxId({ type: 'us_ein', value: ' - ' })).toMatchObject({
      valid: false,
      reason: 'is empty',
    });
  });
});

describe('the country an id belongs to (the engine accepts an id only for the buyer’s own country)', () => {
  it('reads it from an EU prefix, with EL meaning Greece', () => {
    expect(taxIdCountry({ type: 'eu_vat', value: 'de136695976' })).toBe('DE');
    expect(taxIdCountry({ type: 'eu_vat', value: 'EL094259216' })).toBe('GR');
  });

  it('is fixed for every other type', () => {
    const countries = TAX_ID_TYPES.filter((type) => type !== 'eu_vat').map((type) =>
      taxIdCountry({ type, value: '' }),
    );
    expect(countries).toEqual(['GB', 'CH', 'NO', 'AU', 'NZ', 'SG', 'CA', 'IN', 'US']);
  });

  it('is unknown for an unsupported type', () => {
    expect(taxIdCountry({ type: 'br_cnpj', value: '1' })).toBeNull();
  });
});

describe('check-digit algorithms', () => {
  it('Luhn: 12302 6635 is valid, 12345 6783 is not', () => {
    expect(luhnValid('123026635')).toBe(true);
    expect(luhnValid('123456783')).toBe(false);
  });

  it('GSTIN mod 36: only one check character fits', () => {
    const body = '27AAPFU0939F1Z';
    const fitting = [...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'].filter((c) => gstinChecksumValid(body + c));
    expect(fitting).toEqual(['V']);
  });

  it('ABN mod 89 and IRD mod 11 reject every single-digit change of a valid number', () => {
    for (const [valid, check] of [
      ['51824753556', abnValid],
      ['049091850', irdValid],
    ] as const) {
      for (let position = 0; position < valid.length; position += 1) {
        const digit = Number(valid.charAt(position));
        const changed = `${valid.slice(0, position)}${(digit + 1) % 10}${valid.slice(position + 1)}`;
        expect(check(changed)).toBe(false);
      }
    }
  });
});

describe('online verification (VIES, HMRC …)', () => {
  it('is off by default: the default verifier answers not_configured and does no I/O', async () => {
    await expect(
      notConfiguredVatIdVerifier.verify({ type: 'eu_vat', value: 'DE136695976' }),
    ).resolves.toEqual({
      status: 'not_configured',
    });
  });
});
