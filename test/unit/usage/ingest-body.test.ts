import type { IngestDeps } from '../../../src/usage/ingest';
import { ingestBody, touchedBy } from '../../../src/usage/ingest-body';
import type { RateDecision } from '../../../src/usage/rate-limit';

// The part of an ingestion request before any event is stored: the body must be UTF-8 JSON of the
// right shape, and the tenant's rate limit is asked for exactly as many tokens as the body has events.
// (Storing is specified in test/integration/usage-ingestion.test.ts, on the event loop and on threads.)

const encode = (text: string) => new TextEncoder().encode(text);

/** Deps that fail the test if anything would be stored or looked up. */
const noStorage = new Proxy({} as IngestDeps, {
  get: (_target, property) => {
    throw new Error(`nothing should reach ${String(property)}`);
  },
});

async function outcomeOf(body: Uint8Array, shape: 'batch' | 'single', decision?: RateDecision) {
  const asked: number[] = [];
  const outcome = await ingestBody(
    noStorage,
    'ten_1',
    body,
    shape,
    (events) => {
      asked.push(events);
      return Promise.resolve(decision ?? { allowed: true });
    },
    () => Date.UTC(2026, 11, 1),
  ).catch((error: unknown) => ({ kind: 'threw', error }));
  return { outcome, asked };
}

describe('an ingestion body before anything is stored', () => {
  it.each([
    ['truncated JSON', '{"events": ['],
    ['a JSON string at the top level', '"api_call"'],
    ['a JSON number at the top level', '42'],
  ])('%s is malformed, and takes no tokens', async (_label, text) => {
    const { outcome, asked } = await outcomeOf(encode(text), 'batch');
    expect(outcome).toEqual({ kind: 'malformed' });
    expect(asked).toEqual([]);
  });

  it('bytes that are not UTF-8 are malformed', async () => {
    const { outcome } = await outcomeOf(Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'single');
    expect(outcome).toEqual({ kind: 'malformed' });
  });

  it.each([
    ['no events array', '{}', 'events'],
    ['an empty events array', '{"events": []}', 'events'],
    [
      'more than 10,000 events',
      JSON.stringify({ events: Array.from({ length: 10_001 }, () => ({})) }),
      'events',
    ],
    ['an unknown top-level field', '{"events": [{}], "dry_run": true}', 'dry_run'],
  ])('a batch with %s is invalid and names the field', async (_label, text, field) => {
    const { outcome, asked } = await outcomeOf(encode(text), 'batch');
    expect(outcome).toMatchObject({ kind: 'invalid', errors: [{ field }] });
    expect(asked).toEqual([]);
  });

  it('asks the rate limit for one token per event, and stores nothing when refused', async () => {
    const body = encode(JSON.stringify({ events: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] }));
    const { outcome, asked } = await outcomeOf(body, 'batch', { allowed: false, retryAfterSeconds: 7 });
    expect(asked).toEqual([3]);
    expect(outcome).toEqual({ kind: 'rateLimited', retryAfterSeconds: 7 });
  });
});

describe('the customers an ingestion touched, for the threshold watcher', () => {
  it('lists each accepted customer once per event name, and none of the rejected', () => {
    const events = [
      { event_name: 'api_call', customer: 'cus_a' },
      { event_name: 'api_call', customer: 'cus_b' },
      { event_name: 'storage', customer: 'cus_a' },
      { event_name: 'api_call', customer: 'cus_a' },
      { event_name: 'api_call', customer: 'cus_rejected' },
    ];
    expect(touchedBy(events, [0, 1, 2, 3])).toEqual([
      ['api_call', ['cus_a', 'cus_b']],
      ['storage', ['cus_a']],
    ]);
  });
});
