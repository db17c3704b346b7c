// Errors the tax engine throws. They are configuration or programming errors, not business
// outcomes: an invoice that cannot be taxed correctly must not be issued with 0 % by accident.
// Each carries a stable `code` so callers can map it to a problem type without parsing messages.

export type TaxErrorCode =
  | 'invalid_tax_request'
  | 'unsupported_jurisdiction'
  | 'missing_region'
  | 'rate_not_found'
  | 'tax_invariant_violated';

export abstract class TaxEngineError extends Error {
  abstract readonly code: TaxErrorCode;
}

/** The request is malformed (bad date, non-integer amount, duplicate line ref …). */
export class InvalidTaxRequestError extends TaxEngineError {
  readonly code = 'invalid_tax_request';
  override readonly name = 'InvalidTaxRequestError';
}

/**
 * Tax would be due somewhere the built-in tables do not cover (a country the seller is registered
 * in but that has no table, an unknown US state or Canadian province): a provider with that data is
 * needed, or the table must be extended.
 */
export class UnsupportedJurisdictionError extends TaxEngineError {
  readonly code = 'unsupported_jurisdiction';
  override readonly name = 'UnsupportedJurisdictionError';
  constructor(
    readonly jurisdiction: string,
    detail: string,
  ) {
    super(`no built-in tax table for ${jurisdiction}: ${detail}`);
  }
}

/** The buyer's country taxes by subdivision (US, CA, IN) and the address has no region. */
export class MissingRegionError extends TaxEngineError {
  readonly code = 'missing_region';
  override readonly name = 'MissingRegionError';
  constructor(readonly country: string) {
    super(`the buyer's address in ${country} needs a region (state or province) to decide the tax`);
  }
}

/** The tables have no row in force on the tax date (before their coverage, or a gap). */
export class RateNotFoundError extends TaxEngineError {
  readonly code = 'rate_not_found';
  override readonly name = 'RateNotFoundError';
  constructor(
    readonly what: string,
    readonly taxDate: string,
  ) {
    super(`no rate in force for ${what} on ${taxDate}`);
  }
}

/** A postcondition of the engine failed: a bug, never a data problem. */
export class TaxInvariantError extends TaxEngineError {
  readonly code = 'tax_invariant_violated';
  override readonly name = 'TaxInvariantError';
}
