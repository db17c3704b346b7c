import {
  reachedThresholds,
  withCrossing,
  type UsageThresholdCrossing,
} from '../../../src/domain/usage/thresholds';

describe('reachedThresholds', () => {
  it('nothing below 80 %, 80 at exactly 80 %, both at 100 % and beyond', () => {
    expect(reachedThresholds('79', '100')).toEqual([]);
    expect(reachedThresholds('79.999', '100')).toEqual([]);
    expect(reachedThresholds('80', '100')).toEqual([80]);
    expect(reachedThresholds('85', '100')).toEqual([80]);
    expect(reachedThresholds('100', '100')).toEqual([80, 100]);
    expect(reachedThresholds('1000000', '100')).toEqual([80, 100]);
  });

  it('is exact on decimal limits (no float rounding at the boundary)', () => {
    // 0.8 × 0.3 = 0.24 exactly; as floats 0.3 * 0.8 = 0.24000000000000002.
    expect(reachedThresholds('0.24', '0.3')).toEqual([80]);
    expect(reachedThresholds('0.2399999999', '0.3')).toEqual([]);
  });

  it('no usage reaches nothing, even against a zero limit; the first unit reaches both', () => {
    expect(reachedThresholds(null, '100')).toEqual([]);
    expect(reachedThresholds('0', '0')).toEqual([]);
    expect(reachedThresholds('1', '0')).toEqual([80, 100]);
  });
});

describe('withCrossing', () => {
  const crossing = (threshold: 80 | 100, feature = 'api_calls'): UsageThresholdCrossing => ({
    feature,
    meterId: 'mtr_1',
    threshold,
    used: '85',
    limit: '100',
    periodStart: '2026-05-01T00:00:00.000Z',
    periodEnd: '2026-06-01T00:00:00.000Z',
    reachedAt: '2026-05-10T00:00:00.000Z',
  });

  it('keeps the latest crossings newest last and ignores a re-sent one', () => {
    const once = withCrossing(undefined, crossing(80));
    const twice = withCrossing(once, { ...crossing(80), used: '86' });
    expect(twice).toEqual([crossing(80)]);
    expect(withCrossing(twice, crossing(100)).map((c) => c.threshold)).toEqual([80, 100]);
  });

  it('a new limit in the same period (an upgrade) is a new crossing', () => {
    const kept = withCrossing([crossing(80)], { ...crossing(80), limit: '1000.0', used: '800' });
    expect(kept.map((c) => c.limit)).toEqual(['100', '1000.0']);
    expect(withCrossing(kept, { ...crossing(80), limit: '1000' })).toHaveLength(2);
  });

  it('is bounded', () => {
    let list: UsageThresholdCrossing[] = [];
    for (let i = 0; i < 30; i += 1) list = withCrossing(list, crossing(80, `f${i}`), 20);
    expect(list).toHaveLength(20);
    expect(list[0]?.feature).toBe('f10');
    expect(list[19]?.feature).toBe('f29');
  });
});
