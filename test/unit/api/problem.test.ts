import { z } from 'zod';
import { parseOrThrow, problemBody, ProblemError } from '../../../src/api/problem';
import { AmountMinor, Currency, Metadata } from '../../../src/api/schemas';

const Plan = z.strictObject({ amount: AmountMinor, currency: Currency, metadata: Metadata });

function problemFor(value: unknown): ProblemError {
  try {
    parseOrThrow(Plan, value);
  } catch (error) {
    return error as ProblemError;
  }
  throw new Error('expected a validation problem');
}

describe('validation problems name the offending field', () => {
  it.each([
    ['a float amount', { amount: 19.99, currency: 'USD' }, 'amount'],
    ['a string amount', { amount: '100', currency: 'USD' }, 'amount'],
    ['an amount beyond 2^53', { amount: 2 ** 53, currency: 'USD' }, 'amount'],
    ['a missing currency', { amount: 1 }, 'currency'],
    ['an unknown top-level field', { amount: 1, currency: 'USD', colour: 'red' }, 'colour'],
    ['a nested metadata value', { amount: 1, currency: 'USD', metadata: { tier: 3 } }, 'metadata.tier'],
  ])('%s', (_label, value, field) => {
    const problem = problemFor(value);
    expect(problem.kind).toBe('validation');
    expect(problem.extensions.field).toBe(field);
    expect(problem.detail.startsWith(`${field}:`)).toBe(true);
  });

  it('lists every problem, not only the first', () => {
    const problem = problemFor({ amount: -5, currency: 'dollars' });
    expect(problem.extensions.errors?.map((e) => e.field).sort()).toEqual(['amount', 'currency']);
  });

  it('normalizes currency codes to upper case instead of rejecting lower case', () => {
    expect(parseOrThrow(Plan, { amount: 0, currency: 'eur' })).toEqual({ amount: 0, currency: 'EUR' });
  });

  it('renders an RFC 9457 body with a stable type URI', () => {
    const body = problemBody(new ProblemError('notFound', 'No customer', { field: 'customer' }), '/v1/x');
    expect(body).toEqual({
      type: 'https://ledgerline.dev/problems/not-found',
      title: 'Resource not found',
      status: 404,
      detail: 'No customer',
      instance: '/v1/x',
      field: 'customer',
    });
  });
});
