// Offline validation of tax identification numbers: format and, where the issuer defines one, the
// check digit. A valid id here is well-formed, not proven registered — an online check (VIES, HMRC)
// can be plugged in through `VatIdVerifier` (./vat-id-verifier.ts), off by default.
//
// European VAT numbers (EU, GB, CH, NO) are checked by `jsvat`, which implements each country's
// published checksum. The others implement their issuers' algorithms in ./tax-id-checksums.ts.

import {
  austria,
  belgium,
  bulgaria,
  checkVAT,
  croatia,
  cyprus,
  czechRepublic,
  denmark,
  estonia,
  finland,
  france,
  germany,
  greece,
  hungary,
  ireland,
  italy,
  latvia,
  lithuania,
  luxembourg,
  malta,
  netherlands,
  norway,
  poland,
  portugal,
  romania,
  slovakiaRepublic,
  slovenia,
  spain,
  sweden,
  switzerland,
  unitedKingdom,
  type Country,
} from 'jsvat';
import { abnValid, einPrefixValid, gstinChecksumValid, irdValid, luhnValid } from './tax-id-checksums';
import type { TaxId } from './types';

export const TAX_ID_TYPES = [
  'eu_vat',
  'gb_vat',
  'ch_vat',
  'no_vat',
  'au_abn',
  'nz_gst',
  'sg_gst',
  'ca_bn',
  'in_gst',
  'us_ein',
] as const;
export type TaxIdType = (typeof TAX_ID_TYPES)[number];

export interface TaxIdValidation {
  readonly valid: boolean;
  /** Why the id was refused (absent when valid). */
  readonly reason?: string;
  /** Upper case without spaces, dots or dashes: 'DE 136 695 976' → 'DE136695976'. */
  readonly normalized: string;
}

// prettier-ignore
const EU_COUNTRIES: readonly Country[] = [
  austria, belgium, bulgaria, croatia, cyprus, czechRepublic, denmark, estonia, finland, france,
  germany, greece, hungary, ireland, italy, latvia, lithuania, luxembourg, malta, netherlands,
  poland, portugal, romania, slovakiaRepublic, slovenia, spain, sweden,
];

/** EU VAT prefixes are ISO 3166-1 codes except Greece's 'EL'. */
const EU_PREFIX_TO_COUNTRY: Readonly<Record<string, string>> = { EL: 'GR' };

const FIXED_COUNTRY: Readonly<Record<Exclude<TaxIdType, 'eu_vat'>, string>> = {
  gb_vat: 'GB',
  ch_vat: 'CH',
  no_vat: 'NO',
  au_abn: 'AU',
  nz_gst: 'NZ',
  sg_gst: 'SG',
  ca_bn: 'CA',
  in_gst: 'IN',
  us_ein: 'US',
};

export function isTaxIdType(type: string): type is TaxIdType {
  return (TAX_ID_TYPES as readonly string[]).includes(type);
}

export function normalizeTaxId(value: string): string {
  return value.toUpperCase().replace(/[\s.-]/g, '');
}

/** Format and check digit of a tax id of one of the `TAX_ID_TYPES`. */
export function validateTaxId(taxId: TaxId): TaxIdValidation {
  const normalized = normalizeTaxId(taxId.value);
  if (!isTaxIdType(taxId.type)) {
    return { valid: false, reason: `unsupported tax id type '${taxId.type}'`, normalized };
  }
  if (normalized.length === 0) return { valid: false, reason: 'is empty', normalized };
  const reason = VALIDATORS[taxId.type](normalized);
  return reason === null ? { valid: true, normalized } : { valid: false, reason, normalized };
}

/**
 * The ISO country a tax id belongs to ('EL…' → 'GR'), or null for an unsupported type or an EU
 * number without a member-state prefix. The engine accepts a buyer's id only for its own country.
 */
export function taxIdCountry(taxId: TaxId): string | null {
  if (!isTaxIdType(taxId.type)) return null;
  if (taxId.type !== 'eu_vat') return FIXED_COUNTRY[taxId.type];
  const prefix = normalizeTaxId(taxId.value).slice(0, 2);
  return /^[A-Z]{2}$/.test(prefix) ? (EU_PREFIX_TO_COUNTRY[prefix] ?? prefix) : null;
}

type Validator = (normalized: string) => string | null;

function jsvatCheck(normalized: string, countries: readonly Country[], label: string): string | null {
  const result = checkVAT(normalized, countries);
  if (!result.isSupportedCountry) return `does not start with a ${label} country prefix`;
  if (!result.isValidFormat) return 'has the wrong format for its country';
  if (!result.isValid) return 'fails the check digit';
  return null;
}

function matches(pattern: RegExp, normalized: string, expected: string): string | null {
  return pattern.test(normalized) ? null : `expected ${expected}`;
}

const VALIDATORS: Readonly<Record<TaxIdType, Validator>> = {
  eu_vat: (normalized) => {
    if (normalized.startsWith('GR')) return "Greek VAT numbers use the prefix 'EL'";
    if (normalized.startsWith('XI')) return "Northern Ireland numbers ('XI') are UK VAT numbers: use gb_vat";
    return jsvatCheck(normalized, EU_COUNTRIES, 'EU member state');
  },
  // Northern Ireland traders' 'XI' numbers are their GB numbers with another prefix.
  gb_vat: (normalized) =>
    jsvatCheck(normalized.replace(/^XI/, 'GB'), [unitedKingdom], "United Kingdom ('GB')"),
  // 'CHE-116.281.710 MWST' (the MWST/TVA/IVA suffix is optional).
  ch_vat: (normalized) => jsvatCheck(normalized, [switzerland], "Swiss ('CHE')"),
  // 'NO 974 760 673 MVA' (the MVA suffix is optional).
  no_vat: (normalized) => jsvatCheck(normalized, [norway], "Norwegian ('NO')"),
  au_abn: (normalized) =>
    matches(/^\d{11}$/, normalized, '11 digits') ??
    (abnValid(normalized) ? null : 'fails the ABN check (mod 89)'),
  nz_gst: (normalized) =>
    matches(/^\d{8,9}$/, normalized, '8 or 9 digits (IRD number)') ??
    (irdValid(normalized) ? null : 'fails the IRD check digit or is out of range'),
  // Singapore publishes no check-digit algorithm for UENs or GST numbers: format only.
  sg_gst: (normalized) =>
    SG_GST_FORMATS.some((pattern) => pattern.test(normalized))
      ? null
      : 'expected a UEN (e.g. 200312345M, T08LL1234A) or a GST number (e.g. M90312345A)',
  // The 9-digit Business Number, or its GST/HST program account (BN + 'RT' + 4 digits).
  ca_bn: (normalized) =>
    matches(/^\d{9}(RT\d{4})?$/, normalized, '9 digits, optionally followed by RT and 4 digits') ??
    (luhnValid(normalized.slice(0, 9)) ? null : 'fails the Business Number check digit'),
  in_gst: (normalized) => {
    const format = matches(GSTIN_FORMAT, normalized, 'a 15-character GSTIN like 27AAPFU0939F1ZV');
    if (format !== null) return format;
    if (!GSTIN_STATE_CODES.has(normalized.slice(0, 2))) return 'has an unknown state code';
    return gstinChecksumValid(normalized) ? null : 'fails the GSTIN check character';
  },
  us_ein: (normalized) =>
    matches(/^\d{9}$/, normalized, '9 digits (XX-XXXXXXX)') ??
    (einPrefixValid(normalized) ? null : 'has a prefix the IRS does not assign'),
};

const SG_GST_FORMATS: readonly RegExp[] = [
  /^\d{8}[A-Z]$/, // UEN, business (ROB)
  /^(18|19|20)\d{7}[A-Z]$/, // UEN, local company (ROC): year of issue + 5 digits + check letter
  /^F0{3}\d{5}[A-Z]$/, // UEN, foreign company
  /^[RST]\d{2}(CC|CD|CH|CL|CM|CP|CS|CX|DP|FB|FC|FM|FN|GA|GB|GS|HS|LL|LP|MB|MC|MD|MH|MM|MQ|NB|NR|PA|PB|PF|RF|RP|SM|SS|TC|TU|VH|XL)\d{4}[A-Z]$/, // UEN, other entities
  /^M[0-9A-Z]\d{7}[0-9A-Z]$/, // GST registration number for those without a UEN
];

// State code, PAN (5 letters with the holder type 4th, 4 digits, 1 letter), entity number, 'Z', check.
const GSTIN_FORMAT = /^\d{2}[A-Z]{3}[ABCFGHLJPTK][A-Z]\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]$/;
// GST state codes 01–38 (Ladakh 38), 97 (other territory), 99 (centre jurisdiction).
const GSTIN_STATE_CODES: ReadonlySet<string> = new Set([
  ...Array.from({ length: 38 }, (_, i) => String(i + 1).padStart(2, '0')),
  '97',
  '99',
]);
