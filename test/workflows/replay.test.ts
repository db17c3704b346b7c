import { Worker } from '@temporalio/worker';
import { readHistories } from '../support/histories';
import { workflowBundle } from '../support/temporal';

/**
 * Replays every recorded history against today's workflow code. A change that would make a running
 * subscription take a different path (non-determinism) fails here, before it reaches production.
 * Record new histories with: RECORD_HISTORIES=1 npx jest test/workflows
 */
const histories = readHistories();

describe('recorded subscription histories replay on the current workflow code', () => {
  it('has recorded histories to replay', () => {
    expect(histories.length).toBeGreaterThan(0);
  });

  it('replays every history without non-determinism', async () => {
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: await workflowBundle() },
      histories,
    )) {
      if (result.error !== undefined) failures.push(`${result.workflowId}: ${String(result.error)}`);
    }
    expect(failures).toEqual([]);
  });
});
