import fc from 'fast-check';
import { contributionsOf, groupKeyOf, type Meter } from '../../../src/domain/usage/meter';
import { rollupDeltasOf, bucketStartMs, mergeStates } from '../../../src/domain/usage/rollup';
import { aggregateUsage } from '../../../src/domain/usage/usage-query';
import { validateUsageEvent } from '../../../src/domain/usage/usage-event';
import { usageValueOf } from '../../../src/domain/usage/usage-value';
import { decodeSlotState, encodeSlotState } from '../../../src/usage/redis-aggregates';

const NOW = Date.UTC(2026, 4, 1, 12, 30);
const meter = (fields: Partial<Meter>): Meter => ({
  id: 'mtr_tokens',
  eventName: 'completion',
  aggregation: 'sum',
  valueProperty: 'tokens',
  filters: {},
  groupBy: [],
  ...fields,
});

describe('validating one usage event', () => {
  it('defaults the timestamp to the ingestion instant', () => {
    const result = validateUsageEvent({ id: 'e1', customer: 'cus_1', event_name: 'completion' }, NOW);
    expect(result).toMatchObject({ ok: true, event: { occurredAtMs: NOW, properties: {} } });
  });

  it('accepts an event 5 minutes ahead of our clock and rejects one a second later', () => {
    const at = (ms: number) =>
      validateUsageEvent(
        { id: 'e', customer: 'c', event_name: 'x', timestamp: new Date(ms).toISOString() },
        NOW,
      );
    expect(at(NOW + 300_000).ok).toBe(true);
    expect(at(NOW + 301_000)).toEqual({
      ok: false,
      errors: [{ field: 'timestamp', message: 'is more than 5 minutes in the future' }],
    });
  });

  it('names every bad field: missing id, nested property, unknown field', () => {
    const result = validateUsageEvent(
      { customer: 'c', event_name: 'x', properties: { user: { id: 1 } }, extra: 1 },
      NOW,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.field)).toEqual(['extra', 'id', 'properties.user']);
  });

  it('reads timestamps with offsets as the same instant', () => {
    const result = validateUsageEvent(
      { id: 'e', customer: 'c', event_name: 'x', timestamp: '2026-05-01T14:30:00+02:00' },
      NOW,
    );
    expect(result).toMatchObject({ ok: true, event: { occurredAtMs: NOW } });
  });
});

describe('usage values are exact decimals', () => {
  it.each([
    [0.1, '0.1'],
    ['007.50', '7.5'],
    [1e-7, '0.0000001'],
    [1.5e-7, '0.00000015'],
    ['-0.0', '0'],
  ])('%p → %p', (raw, expected) => {
    expect(usageValueOf(raw)).toEqual({ ok: true, value: expected });
  });

  it('refuses integers a JSON number cannot carry exactly, and non-numbers', () => {
    expect(usageValueOf(2 ** 60).ok).toBe(false);
    expect(usageValueOf('12abc').ok).toBe(false);
    expect(usageValueOf(true).ok).toBe(false);
  });
});

describe('meters', () => {
  it('count only events matching every filter, keyed by their group_by values', () => {
    const eu = meter({ filters: { region: 'eu' }, groupBy: ['model'] });
    const event = { eventName: 'completion', properties: { region: 'eu', model: 'large', tokens: '12.5' } };
    expect(contributionsOf(event, [eu])).toEqual({
      ok: true,
      contributions: [{ meterId: 'mtr_tokens', aggregation: 'sum', groupKey: '["large"]', value: '12.5' }],
    });
    expect(contributionsOf({ ...event, properties: { ...event.properties, region: 'us' } }, [eu])).toEqual({
      ok: true,
      contributions: [],
    });
    expect(groupKeyOf(['region', 'model'], { region: 'eu' })).toBe('["eu",null]');
  });

  it('key groups exactly as JSON of the group_by values would, for any property values', () => {
    const value = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }), // quotes, backslashes, control characters, lone surrogates
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('a', 'b', 'c'), value),
        fc.array(fc.constantFrom('a', 'b', 'c', 'd')),
        (properties, groupBy) => {
          const expected =
            groupBy.length === 0 ? '' : JSON.stringify(groupBy.map((name) => properties[name] ?? null));
          expect(groupKeyOf(groupBy, properties)).toBe(expected);
        },
      ),
    );
  });

  it('reject an event that matches a sum meter but has no value for it, naming the property', () => {
    expect(contributionsOf({ eventName: 'completion', properties: {} }, [meter({})])).toEqual({
      ok: false,
      errors: [{ field: 'properties.tokens', message: 'is required by meter mtr_tokens (sum)' }],
    });
  });
});

describe('rollups', () => {
  const fresh = (id: string, atMs: number, value: string, aggregation: 'sum' | 'max' | 'latest' = 'sum') => ({
    id,
    customerId: 'cus_1',
    occurredAtMs: atMs,
    contributions: [{ meterId: `mtr_${aggregation}`, aggregation, groupKey: '', value }],
  });

  it('attributes events to the UTC hour of their own timestamp and sums them exactly', () => {
    const { deltas } = rollupDeltasOf([
      fresh('a', NOW, '0.1'),
      fresh('b', NOW + 60_000, '0.2'),
      fresh('c', NOW - 3_600_000, '5'),
    ]);
    expect(
      deltas.map((d) => [d.bucketStartMs, d.state.eventCount, d.state.valueSum, d.state.valueMax]),
    ).toEqual([
      [bucketStartMs(NOW - 3_600_000), 1, '5', null],
      [bucketStartMs(NOW), 2, '0.3', null],
    ]);
  });

  it('keeps only what the meter reads: a max meter has no sum, a sum meter no latest', () => {
    const [max] = rollupDeltasOf([fresh('a', NOW, '7', 'max'), fresh('b', NOW + 1, '12.5', 'max')]).deltas;
    const [sum] = rollupDeltasOf([fresh('c', NOW, '7'), fresh('d', NOW + 1, '12.5')]).deltas;
    expect(max?.state).toEqual({ eventCount: 2, valueSum: null, valueMax: '12.5', latest: null });
    expect(sum?.state).toEqual({ eventCount: 2, valueSum: '19.5', valueMax: null, latest: null });
  });

  it('sums integers beyond what a double holds exactly, and mixed with decimals, to the last digit', () => {
    const big = '999999999999999'; // 15 digits: the double fast path, until the total would round
    const events = Array.from({ length: 20 }, (_, i) => fresh(`e${i}`, NOW, big));
    expect(rollupDeltasOf(events).deltas[0]?.state.valueSum).toBe('19999999999999980');
    const mixed = [fresh('a', NOW, big), fresh('b', NOW, '0.000000000000000001'), fresh('c', NOW, '-3')];
    expect(rollupDeltasOf(mixed).deltas[0]?.state.valueSum).toBe('999999999999996.000000000000000001');
  });

  it('keeps as latest the value of the greatest (timestamp, id), whatever the arrival order', () => {
    const events = [
      fresh('b', NOW, '2', 'latest'),
      fresh('a', NOW, '1', 'latest'),
      fresh('z', NOW - 1, '9', 'latest'),
    ];
    const forward = rollupDeltasOf(events).deltas[0]?.state.latest;
    const backward = rollupDeltasOf([...events].reverse()).deltas[0]?.state.latest;
    expect(forward).toEqual({ atMs: NOW, eventId: 'b', value: '2' });
    expect(backward).toEqual(forward);
  });

  it('merges slot states the same in any order (so Redis and Postgres agree)', () => {
    const a = {
      eventCount: 1,
      valueSum: '1.25',
      valueMax: '1.25',
      latest: { atMs: NOW, eventId: 'a', value: '1.25' },
    };
    const b = {
      eventCount: 1,
      valueSum: '-0.25',
      valueMax: '-0.25',
      latest: { atMs: NOW + 1, eventId: 'b', value: '-0.25' },
    };
    expect(mergeStates(a, b)).toEqual(mergeStates(b, a));
    expect(mergeStates(a, b)).toMatchObject({
      eventCount: 2,
      valueSum: '1',
      valueMax: '1.25',
      latest: { value: '-0.25' },
    });
  });

  it('survives the trip through the Redis encoding, ids containing "|" included', () => {
    const state = {
      eventCount: 3,
      valueSum: '1.5',
      valueMax: '1',
      latest: { atMs: NOW, eventId: 'a|b', value: '0.5' },
    };
    expect(decodeSlotState(encodeSlotState(7, state))).toEqual({ version: 7, state });
  });
});

describe('reading usage', () => {
  it('counts unique values across hours once, and per requested dimension', () => {
    const users = meter({ aggregation: 'unique_count', valueProperty: 'user', groupBy: ['region', 'model'] });
    const values = [
      { groupKey: '["eu","small"]', value: 'u1' },
      { groupKey: '["eu","large"]', value: 'u1' }, // same user, other model, other hour
      { groupKey: '["us","small"]', value: 'u2' },
    ];
    expect(aggregateUsage(users, [], values, ['region'])).toEqual({
      value: '2',
      groups: [
        { group: { region: 'eu' }, value: '1' },
        { group: { region: 'us' }, value: '1' },
      ],
    });
  });
});
