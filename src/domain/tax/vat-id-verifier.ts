// An optional online check of a tax id with its registry (VIES for EU VAT numbers, HMRC for UK
// ones, the ABN Lookup …). Off by default: the engine and the API rely on the offline format and
// checksum checks in ./vat-id.ts, and an adapter that does the I/O lives outside src/domain and is
// passed in where a tenant enables it. Only the interface and the "not configured" default live here.

import type { TaxId } from './types';

export type VatIdVerification =
  | {
      readonly status: 'valid';
      /** The registered name and address, where the registry discloses them. */
      readonly name?: string;
      readonly address?: string;
      /** The registry's proof of the check (VIES "requestIdentifier"), to keep with the invoice. */
      readonly consultationNumber?: string;
      /** ISO-8601 instant of the check, as the adapter observed it. */
      readonly checkedAt: string;
    }
  | { readonly status: 'invalid'; readonly checkedAt: string }
  /** The registry did not answer (VIES member-state outage): the caller decides whether to retry. */
  | { readonly status: 'unavailable'; readonly reason: string }
  /** No verifier is configured: only the offline checks apply. */
  | { readonly status: 'not_configured' };

export interface VatIdVerifier {
  readonly name: string;
  verify(taxId: TaxId): Promise<VatIdVerification>;
}

/** The default: verifies nothing, says so. */
export const notConfiguredVatIdVerifier: VatIdVerifier = {
  name: 'not_configured',
  verify: () => Promise.resolve({ status: 'not_configured' }),
};
