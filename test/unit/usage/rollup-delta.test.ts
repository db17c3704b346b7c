import { rollupDeltasOf, type FreshEvent } from '../../../src/domain/usage/rollup';
import { DeltaFold, encodeBatchDelta } from '../../../src/usage/rollup-delta';

const HOUR = Date.UTC(2026, 11, 1, 10);

function event(id: string, customerId: string, atMs: number, tokens: string, user: string): FreshEvent {
  return {
    id,
    customerId,
    occurredAtMs: atMs,
    contributions: [
      { meterId: 'mtr_calls', aggregation: 'count', groupKey: '', value: null },
      { meterId: 'mtr_tokens', aggregation: 'sum', groupKey: '["large"]', value: tokens },
      { meterId: 'mtr_peak', aggregation: 'max', groupKey: '', value: tokens },
      { meterId: 'mtr_last', aggregation: 'latest', groupKey: '', value: tokens },
      { meterId: 'mtr_users', aggregation: 'unique_count', groupKey: '', value: user },
    ],
  };
}

/** What the compactor does with pending deltas: sum the documents, read the rows back. */
function fold(...documents: Array<{ contributions: unknown; unique: unknown }>) {
  const sum = new DeltaFold();
  for (const d of documents) sum.add(d.contributions, d.unique);
  return {
    rows: sum
      .foldedRows()
      .map((r) => ({ key: `${r.meterId}/${r.customerId}/${r.groupKey}`, ...r.sum.state() })),
    unique: sum.uniqueValues().map((u) => `${u.meterId}/${u.customerId}/${u.value}`),
  };
}

const asStored = (batch: FreshEvent[]) => {
  const { deltas, uniqueValues } = rollupDeltasOf(batch);
  return {
    contributions: JSON.parse(encodeBatchDelta(deltas, uniqueValues) ?? 'null') as unknown,
    unique: null,
  };
};

describe('pending rollup deltas (the batch document and the compactor fold)', () => {
  it('folds two batches into the same state as one batch of all their events', () => {
    const first = [event('a', 'cus_1', HOUR + 1, '10', 'u1'), event('b', 'cus_1', HOUR + 2, '0.5', 'u2')];
    const second = [event('c', 'cus_1', HOUR + 3, '7', 'u1'), event('d', 'cus_2', HOUR + 4, '2', 'u3')];
    expect(fold(asStored(first), asStored(second))).toEqual(fold(asStored([...first, ...second])));
    const { rows, unique } = fold(asStored(first), asStored(second));
    expect(rows.find((r) => r.key === 'mtr_tokens/cus_1/["large"]')).toMatchObject({
      eventCount: 3,
      valueSum: '17.5',
      valueMax: null,
    });
    expect(rows.find((r) => r.key === 'mtr_peak/cus_1/')).toMatchObject({ valueMax: '10', valueSum: null });
    expect(rows.find((r) => r.key === 'mtr_last/cus_1/')?.latest).toEqual({
      atMs: HOUR + 3,
      eventId: 'c',
      value: '7',
    });
    expect(unique.sort()).toEqual(['mtr_users/cus_1/u1', 'mtr_users/cus_1/u2', 'mtr_users/cus_2/u3']);
  });

  it('sums a customer with many groups and hours exactly as row by row (past the short per-customer list)', () => {
    // 40 models × 3 hours for one customer: 120 rows of one meter, plus a second customer interleaved.
    const batch: FreshEvent[] = [];
    const expected = new Map<string, { count: number; sum: number }>();
    for (let i = 0; i < 1_200; i += 1) {
      const customerId = i % 5 === 0 ? 'cus_small' : 'cus_big';
      const hour = HOUR + (i % 3) * 3_600_000;
      const groupKey = `["model-${i % 40}"]`;
      batch.push({
        id: `e${i}`,
        customerId,
        occurredAtMs: hour + i,
        contributions: [{ meterId: 'mtr_tokens', aggregation: 'sum', groupKey, value: String(i) }],
      });
      const key = `${customerId}/${hour}/${groupKey}`;
      const row = expected.get(key) ?? { count: 0, sum: 0 };
      expected.set(key, { count: row.count + 1, sum: row.sum + i });
    }
    const { deltas } = rollupDeltasOf(batch);
    expect(deltas).toHaveLength(expected.size);
    for (const d of deltas) {
      const want = expected.get(`${d.customerId}/${d.bucketStartMs}/${d.groupKey}`);
      expect({ count: d.state.eventCount, sum: d.state.valueSum }).toEqual({
        count: want?.count,
        sum: String(want?.sum),
      });
    }
    // The fold of the stored document agrees row for row.
    expect(fold(asStored(batch)).rows).toHaveLength(expected.size);
    expect(fold(asStored(batch.slice(0, 600)), asStored(batch.slice(600)))).toEqual(fold(asStored(batch)));
  });

  it('writes the documented version-2 document, with quotes and backslashes escaped', () => {
    const batch = [
      event('e"1', 'cus_\\1', HOUR + 5, '2.5', 'u"1'),
      event('e2', 'cus_2', HOUR + 9, '1', 'u2'),
    ];
    const { deltas, uniqueValues } = rollupDeltasOf(batch);
    const text = encodeBatchDelta(deltas, uniqueValues) ?? '';
    expect(JSON.parse(text)).toEqual({
      v: 2,
      m: ['mtr_calls', 'mtr_last', 'mtr_peak', 'mtr_tokens', 'mtr_users'],
      c: ['cus_2', 'cus_\\1'],
      r: [
        [0, 0, HOUR, '', 1],
        [0, 1, HOUR, '', 1],
        [1, 0, HOUR, '', 1, null, null, HOUR + 9, 'e2', '1'],
        [1, 1, HOUR, '', 1, null, null, HOUR + 5, 'e"1', '2.5'],
        [2, 0, HOUR, '', 1, null, '1'],
        [2, 1, HOUR, '', 1, null, '2.5'],
        [3, 0, HOUR, '["large"]', 1, '1'],
        [3, 1, HOUR, '["large"]', 1, '2.5'],
        [4, 0, HOUR, '', 1],
        [4, 1, HOUR, '', 1],
      ],
      u: [
        [4, 0, HOUR, '', 'u2'],
        [4, 1, HOUR, '', 'u"1'],
      ],
    });
    // The text is what JSON.stringify writes for that document.
    expect(text).toBe(JSON.stringify(JSON.parse(text)));
  });

  it('is null for a batch that matched no meter (no delta row is written)', () => {
    expect(encodeBatchDelta([], [])).toBeNull();
  });

  it('folds deltas in the SQL-summed format of migration 0007 that were pending at the upgrade', () => {
    const v1 = {
      contributions: [
        {
          m: 'mtr_tokens',
          c: 'cus_1',
          b: HOUR,
          g: '["large"]',
          n: 2,
          s: 10.5,
          x: 10,
          la: HOUR + 9,
          le: 'z',
          lv: 10,
        },
        { m: 'mtr_calls', c: 'cus_1', b: HOUR, g: '', n: 2, s: null, x: null, la: null, le: null, lv: null },
      ],
      unique: [{ m: 'mtr_users', c: 'cus_1', b: HOUR, g: '', u: 'u9' }],
    };
    const { rows, unique } = fold(v1, asStored([event('a', 'cus_1', HOUR + 1, '1', 'u1')]));
    expect(rows.find((r) => r.key === 'mtr_tokens/cus_1/["large"]')).toMatchObject({
      eventCount: 3,
      valueSum: '11.5',
    });
    expect(rows.find((r) => r.key === 'mtr_calls/cus_1/')?.eventCount).toBe(3);
    expect(unique.sort()).toEqual(['mtr_users/cus_1/u1', 'mtr_users/cus_1/u9']);
  });

  it('refuses a delta document it does not know rather than folding it as zero', () => {
    expect(() => fold({ contributions: { v: 3, r: [] }, unique: null })).toThrow(/version 3/);
  });
});
