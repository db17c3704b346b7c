import fc from 'fast-check';
import { ROUNDING_MODES, type RoundingMode } from '../../../../src/domain/rounding';
import { calculateTableTax } from '../../../../src/domain/tax/table-tax-provider';
import { effectiveFraction } from '../../../../src/domain/tax/tax-arithmetic';
import type {
  BuyerTaxProfile,
  SellerTaxProfile,
  TaxCategory,
  TaxRequest,
} from '../../../../src/domain/tax/types';
import { consumer, seller } from './fixtures';

// Invariants that hold for every invoice, whatever the amounts, rates, rounding mode or mix of
// lines: the numbers on a tax invoice always add up.

const SCENARIOS: readonly { name: string; seller: SellerTaxProfile; buyer: BuyerTaxProfile }[] = [
  { name: 'DE 19 %', seller: seller({ country: 'DE' }), buyer: consumer('DE') },
  { name: 'FI 25.5 %', seller: seller({ country: 'FI' }), buyer: consumer('FI') },
  { name: 'QC GST + QST', seller: seller({ country: 'CA' }), buyer: consumer('CA', 'QC') },
  { name: 'BC GST + PST', seller: seller({ country: 'CA' }), buyer: consumer('CA', 'BC') },
  {
    name: 'TX 6.25 % of 80 %',
    seller: seller({ country: 'US', usNexusStates: ['TX'] }),
    buyer: consumer('US', 'TX'),
  },
  {
    name: 'IN CGST + SGST',
    seller: seller({ country: 'IN', inGstState: 'MH' }),
    buyer: consumer('IN', 'MH'),
  },
  { name: 'CH 8.1 %', seller: seller({ country: 'CH' }), buyer: consumer('CH') },
  {
    name: 'US not taxable',
    seller: seller({ country: 'US', usNexusStates: ['CA'] }),
    buyer: consumer('US', 'CA'),
  },
];

const amount = fc.integer({ min: -1_000_000_000, max: 1_000_000_000 });
const category = fc.constantFrom<TaxCategory>('saas', 'ebooks', 'general_services');
const behavior = fc.constantFrom<'exclusive' | 'inclusive'>('exclusive', 'inclusive');
const mode = fc.constantFrom<RoundingMode>(...ROUNDING_MODES);
const scenario = fc.constantFrom(...SCENARIOS);

function requestOf(
  chosen: (typeof SCENARIOS)[number],
  lines: readonly { amountMinor: number; category: TaxCategory; taxBehavior: 'exclusive' | 'inclusive' }[],
  roundingMode: RoundingMode,
): TaxRequest {
  return {
    currency: 'EUR',
    taxDate: '2026-03-01',
    roundingMode,
    seller: chosen.seller,
    buyer: chosen.buyer,
    lines: lines.map((line, index) => ({ ref: String(index), ...line })),
  };
}

const lineArb = fc.record({ amountMinor: amount, category, taxBehavior: behavior });

describe('tax properties', () => {
  it('totals: net total = Σ line net, tax total = Σ line tax = Σ summary tax, and net + tax = what is charged', () => {
    fc.assert(
      fc.property(scenario, fc.array(lineArb, { maxLength: 8 }), mode, (chosen, lines, roundingMode) => {
        const result = calculateTableTax(requestOf(chosen, lines, roundingMode));
        const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
        expect(result.netTotalMinor).toBe(sum(result.lines.map((l) => l.netAmountMinor)));
        expect(result.taxTotalMinor).toBe(sum(result.lines.map((l) => l.taxAmountMinor)));
        expect(result.taxTotalMinor).toBe(sum(result.summary.map((row) => row.taxAmountMinor)));
        // What the customer is charged: an inclusive amount as it is, an exclusive one plus its tax.
        const charged = sum(
          lines.map((l, i) =>
            l.taxBehavior === 'inclusive'
              ? l.amountMinor
              : l.amountMinor + (result.lines[i]?.taxAmountMinor ?? 0),
          ),
        );
        expect(result.netTotalMinor + result.taxTotalMinor).toBe(charged);
      }),
    );
  });

  it('inclusive: net + tax = the gross price exactly, and the components add up to the tax', () => {
    fc.assert(
      fc.property(scenario, amount, category, mode, (chosen, gross, cat, roundingMode) => {
        const [taxed] = calculateTableTax(
          requestOf(chosen, [{ amountMinor: gross, category: cat, taxBehavior: 'inclusive' }], roundingMode),
        ).lines;
        expect(taxed!.netAmountMinor + taxed!.taxAmountMinor).toBe(gross);
        expect(taxed!.components.reduce((s, c) => s + c.amountMinor, 0)).toBe(taxed!.taxAmountMinor);
      }),
    );
  });

  it('exclusive: each component is within half a minor unit of the exact product (one minor unit for directed modes)', () => {
    fc.assert(
      fc.property(scenario, amount, category, mode, (chosen, net, cat, roundingMode) => {
        const req = requestOf(
          chosen,
          [{ amountMinor: net, category: cat, taxBehavior: 'exclusive' }],
          roundingMode,
        );
        const [taxed] = calculateTableTax(req).lines;
        for (const component of taxed!.components) {
          // Re-derive the exact fraction of the component (including Texas's 80 % base).
          const levy = {
            ...component,
            ...(component.rateKind === 'partial_base' ? { taxablePercent: '80' } : {}),
          };
          const { numerator, denominator } = effectiveFraction(levy);
          // error × denominator = tax × denominator − net × numerator, exactly.
          const error = BigInt(component.amountMinor) * denominator - BigInt(net) * numerator;
          const magnitude = error < 0n ? -error : error;
          const bound = roundingMode.startsWith('half_') ? denominator : 2n * denominator;
          expect(2n * magnitude <= bound).toBe(true);
          if (!roundingMode.startsWith('half_')) expect(magnitude < denominator).toBe(true);
        }
      }),
    );
  });

  it('a negated line carries the negated tax under half-even (credits mirror charges)', () => {
    fc.assert(
      fc.property(scenario, amount, category, behavior, (chosen, value, cat, taxBehavior) => {
        const taxOf = (amountMinor: number) =>
          calculateTableTax(requestOf(chosen, [{ amountMinor, category: cat, taxBehavior }], 'half_even'))
            .lines[0]!;
        const charge = taxOf(value);
        const credit = taxOf(-value);
        expect(credit.taxAmountMinor).toBe(-charge.taxAmountMinor + 0);
        expect(credit.components.map((c) => c.amountMinor)).toEqual(
          charge.components.map((c) => -c.amountMinor + 0),
        );
      }),
    );
  });

  it('the answer does not depend on the order of the lines (each line is taxed on its own)', () => {
    fc.assert(
      fc.property(scenario, fc.array(lineArb, { minLength: 1, maxLength: 6 }), (chosen, lines) => {
        const forward = calculateTableTax(requestOf(chosen, lines, 'half_even'));
        const reversed = calculateTableTax(requestOf(chosen, [...lines].reverse(), 'half_even'));
        expect(reversed.taxTotalMinor).toBe(forward.taxTotalMinor);
        expect([...reversed.lines].reverse().map((l) => l.taxAmountMinor)).toEqual(
          forward.lines.map((l) => l.taxAmountMinor),
        );
      }),
    );
  });
});
