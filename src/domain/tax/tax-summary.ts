// The invoice's tax summary — one row per (jurisdiction, tax, rate, rate kind, treatment) — and the
// invariants that tie it to the lines. Untaxed lines get rows too (rate 0, rate kind 'none'), so a
// report lists reverse-charged, exempt and out-of-scope supplies next to the taxed ones.

import { TaxInvariantError } from './errors';
import type { TaxLineInput, TaxLineResult, TaxSummaryRow, TaxTreatment } from './types';

/** One contribution of a line to the summary. */
export interface SummaryEntry {
  readonly jurisdiction: string;
  readonly taxName: string;
  readonly ratePercent: string;
  readonly rateKind: string;
  readonly treatment: TaxTreatment;
  readonly taxableAmountMinor: number;
  readonly taxAmountMinor: number;
}

/** Rows in the order their key first appears (deterministic, follows the lines). */
export function summarize(entries: readonly SummaryEntry[]): TaxSummaryRow[] {
  const rows = new Map<string, TaxSummaryRow>();
  for (const entry of entries) {
    const key = JSON.stringify([
      entry.jurisdiction,
      entry.taxName,
      entry.ratePercent,
      entry.rateKind,
      entry.treatment,
    ]);
    const current = rows.get(key);
    rows.set(
      key,
      current === undefined
        ? { ...entry }
        : {
            ...current,
            taxableAmountMinor: current.taxableAmountMinor + entry.taxableAmountMinor,
            taxAmountMinor: current.taxAmountMinor + entry.taxAmountMinor,
          },
    );
  }
  return [...rows.values()];
}

/**
 * Postconditions of a calculation; a violation is a bug in the engine, so it throws rather than
 * letting an invoice whose numbers disagree reach a customer.
 */
export function assertTaxInvariants(
  inputs: readonly TaxLineInput[],
  lines: readonly TaxLineResult[],
  summary: readonly TaxSummaryRow[],
  totals: { readonly netTotalMinor: number; readonly taxTotalMinor: number },
): void {
  const fail = (message: string): never => {
    throw new TaxInvariantError(`tax invariant violated: ${message}`);
  };
  if (inputs.length !== lines.length) fail('one result per input line');
  lines.forEach((line, index) => {
    const input = inputs[index];
    if (input === undefined || input.ref !== line.ref) return fail(`line ${index} answers another ref`);
    const componentSum = line.components.reduce((sum, component) => sum + component.amountMinor, 0);
    if (componentSum !== line.taxAmountMinor) fail(`line ${line.ref}: tax ≠ Σ components`);
    if (line.treatment !== 'taxed' && line.taxAmountMinor !== 0)
      fail(`line ${line.ref}: untaxed line with tax`);
    const gross =
      input.taxBehavior === 'inclusive' ? line.netAmountMinor + line.taxAmountMinor : line.netAmountMinor;
    if (gross !== input.amountMinor) fail(`line ${line.ref}: net/tax do not reproduce the amount`);
    for (const value of [line.netAmountMinor, line.taxAmountMinor]) {
      if (!Number.isSafeInteger(value)) fail(`line ${line.ref}: ${value} is not a safe integer`);
    }
  });
  const netSum = lines.reduce((sum, line) => sum + line.netAmountMinor, 0);
  const lineTaxSum = lines.reduce((sum, line) => sum + line.taxAmountMinor, 0);
  const summaryTaxSum = summary.reduce((sum, row) => sum + row.taxAmountMinor, 0);
  if (totals.netTotalMinor !== netSum) fail('net total ≠ Σ line net');
  if (totals.taxTotalMinor !== lineTaxSum) fail('tax total ≠ Σ line tax');
  if (summaryTaxSum !== lineTaxSum) fail('Σ summary tax ≠ Σ line tax');
}
