// The wording an invoice must carry when it charges no tax, by the law that requires it. Kept in
// one place so that a change of wording is a one-line edit and tests can refer to the same text.

import type { ExemptionReason, TaxExemption } from './types';

export const LEGAL_NOTES = {
  /** Council Directive 2006/112/EC Art. 226(11a) requires the mention "Reverse charge". */
  euReverseCharge:
    'Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC).',
  euOutsideScope:
    'Not subject to EU VAT: the place of supply is outside the European Union (Council Directive 2006/112/EC, Articles 44 and 59).',
  gbReverseCharge:
    'Reverse charge: the customer must account for UK VAT on this supply (Value Added Tax Act 1994, section 8).',
  chReverseCharge:
    'Reverse charge: Swiss acquisition tax (Bezugsteuer) to be accounted for by the recipient (Art. 45 MWSTG).',
  noReverseCharge:
    'Reverse charge: Norwegian VAT to be accounted for by the recipient (Merverdiavgiftsloven § 11-3).',
  auReverseCharge:
    'No GST charged: supply by a non-resident to an Australian GST-registered business; the recipient accounts for any GST under the reverse charge (A New Tax System (Goods and Services Tax) Act 1999, Division 84).',
  nzReverseCharge:
    'No GST charged: remote services to a New Zealand GST-registered business; the recipient accounts for any GST under the reverse charge (Goods and Services Tax Act 1985, section 8(4B)).',
  sgReverseCharge:
    'No GST charged: imported services to a Singapore GST-registered business; the recipient accounts for GST under the reverse charge where it applies (Goods and Services Tax Act 1993).',
  caReverseCharge:
    'No GST/HST or QST charged: supply by a non-resident registered under the simplified regime to a registrant; the recipient self-assesses where required (Excise Tax Act, Part IX).',
  inReverseCharge:
    'Reverse charge: IGST on the import of services to be paid by the recipient (Integrated Goods and Services Tax Act 2017, section 5(3)).',
} as const;

const EXEMPTION_LABELS: Readonly<Record<ExemptionReason, string>> = {
  non_profit: 'non-profit organisation',
  government: 'government entity',
  reseller: 'purchase for resale',
  enterprise: 'exempt enterprise',
  other: 'exempt customer',
};

export function exemptionNote(exemption: TaxExemption): string {
  return `Tax exempt: ${EXEMPTION_LABELS[exemption.reason]}, exemption certificate ${exemption.certificate}.`;
}

/** The export mention of a seller's home tax outside the EU ('Outside the scope of UK VAT …'). */
export function outsideScopeNote(countryName: string, taxName: string): string {
  return `Outside the scope of ${countryName} ${taxName}: the place of supply is outside ${countryName}.`;
}
