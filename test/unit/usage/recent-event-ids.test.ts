import { RecentEventIds } from '../../../src/usage/recent-event-ids';

// The memory that chooses how an event key is claimed (plain INSERT for ids never sent, ON CONFLICT for
// ids that may be stored). Wrong answers only cost speed, but "seen" must never be missed for an id
// sent within the remembered window, or every client retry would take the slow fallback.

const part = (memory: RecentEventIds, tenant: string, list: string[]) =>
  memory.partition(tenant, list, (id) => id);
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('recent event ids', () => {
  it('calls ids unseen the first time and seen when sent again, keeping their order', () => {
    const memory = new RecentEventIds({ bits: 2 ** 20, capacity: 50_000 });
    const first = part(memory, 'ten_a', ['e-3', 'e-1', 'e-2']);
    expect(first).toEqual({ seen: [], unseen: ['e-3', 'e-1', 'e-2'] });
    expect(part(memory, 'ten_a', ['e-0', 'e-1', 'e-4', 'e-3'])).toEqual({
      seen: ['e-1', 'e-3'],
      unseen: ['e-0', 'e-4'],
    });
  });

  it('keeps tenants apart: the same id from another tenant is unseen', () => {
    const memory = new RecentEventIds({ bits: 2 ** 20, capacity: 50_000 });
    part(memory, 'ten_a', ids('shared', 1_000));
    const other = part(memory, 'ten_b', ids('shared', 1_000));
    // A Bloom filter may say "seen" falsely; at this load (1,000 of 50,000) almost never.
    expect(other.seen.length).toBeLessThan(5);
  });

  it('says "seen" falsely for under 1 % of new ids at its rated load', () => {
    const memory = new RecentEventIds({ bits: 2 ** 20, capacity: 90_000 });
    for (let b = 0; b < 90; b += 1) part(memory, 'ten_a', ids(`batch${b}`, 1_000));
    const fresh = part(memory, 'ten_a', ids('never-sent', 10_000));
    expect(fresh.seen.length / 10_000).toBeLessThan(0.01);
  });

  it('remembers at least the last `capacity` ids, and forgets ids two generations old', () => {
    const memory = new RecentEventIds({ bits: 2 ** 16, capacity: 1_000 });
    const old = ids('old', 1_000);
    part(memory, 'ten_a', old); // fills the current generation
    part(memory, 'ten_a', ids('middle', 500)); // a new one begins; "old" is now the previous
    expect(part(memory, 'ten_a', old.slice(0, 100)).seen).toHaveLength(100);
    part(memory, 'ten_a', ids('newer', 2_000)); // two more rotations: "old" is gone
    expect(part(memory, 'ten_a', old.slice(500, 600)).seen.length).toBeLessThan(10);
  });

  it('is one memory for every thread that wraps it: an id sent through one is "seen" through another', () => {
    const first = new RecentEventIds({ bits: 2 ** 16, capacity: 1_000 });
    const second = new RecentEventIds({ shared: first.memory });
    expect(part(first, 'ten_a', ['e-1', 'e-2']).unseen).toEqual(['e-1', 'e-2']);
    expect(part(second, 'ten_a', ['e-2', 'e-3'])).toEqual({ seen: ['e-2'], unseen: ['e-3'] });
    expect(part(first, 'ten_a', ['e-3']).seen).toEqual(['e-3']);
  });

  it('rotates its generations once for all threads sharing it', () => {
    const first = new RecentEventIds({ bits: 2 ** 16, capacity: 1_000 });
    const second = new RecentEventIds({ shared: first.memory });
    const old = ids('old', 1_000);
    part(first, 'ten_a', old);
    part(second, 'ten_a', ids('middle', 500)); // the second rotates: "old" is the previous generation
    expect(part(first, 'ten_a', old.slice(0, 100)).seen).toHaveLength(100);
    part(first, 'ten_a', ids('newer', 1_000));
    part(second, 'ten_a', ids('newest', 1_000)); // two more rotations between them: "old" is gone
    expect(part(second, 'ten_a', old.slice(500, 600)).seen.length).toBeLessThan(10);
  });

  it('refuses a size that is not a power of two', () => {
    expect(() => new RecentEventIds({ bits: 1_000 })).toThrow(RangeError);
  });
});
