import { IngestThreads } from '../../../src/usage/ingest-threads';
import { RecentEventIds } from '../../../src/usage/recent-event-ids';

// What happens around the ingest threads when they cannot do their work (the work itself is specified
// by test/integration/usage-ingestion.test.ts, which runs on real threads).

const allow = () => Promise.resolve({ allowed: true } as const);
const body = new TextEncoder().encode('{"events": [{"id": "e-1"}]}');

describe('ingest threads that cannot start', () => {
  it('fail each request instead of leaving it waiting, and are restarted after a pause, not in a spin', async () => {
    const errors: unknown[] = [];
    const threads = new IngestThreads(
      {
        count: 2,
        databaseUrl: 'postgres://nobody@127.0.0.1:1/none',
        entry: '/nonexistent/ingest-thread-main.js',
      },
      { recentIds: new RecentEventIds({ bits: 2 ** 12 }).memory, meterCacheTtlMs: 1_000 },
      (error) => errors.push(error),
    );
    try {
      await expect(threads.ingest('ten_1', body, 'batch', allow)).rejects.toThrow(/ingest thread/);
      // Both threads have died by now: a request finds none running.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await expect(threads.ingest('ten_1', body, 'batch', allow)).rejects.toThrow(
        'no ingest thread is running',
      );
      // Each death is reported; a replacement is started only after a pause (1 s for a young thread).
      const reported = errors.length;
      expect(reported).toBeGreaterThanOrEqual(2);
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(errors.length).toBe(reported);
    } finally {
      await threads.stop();
    }
  });
});
