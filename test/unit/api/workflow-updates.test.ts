import {
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Request } from 'express';
import { ProblemError } from '../../../src/api/problem';
import { executeSubscriptionUpdate } from '../../../src/api/workflow-updates';
import { cancelUpdate as cancelAtPeriodEnd } from '../../../src/workflows/contracts';

/** A Temporal client whose every update ends with `failure`; records the update options it was given. */
function clientFailingWith(failure: Error, seen: unknown[] = []): Client {
  const handle = {
    executeUpdate: (_definition: unknown, options: unknown) => {
      seen.push(options);
      return Promise.reject(failure);
    },
  };
  const client = {
    workflow: { getHandle: () => handle },
    withDeadline: <R>(_deadline: number, call: () => Promise<R>) => call(),
  };
  return client as unknown as Client;
}

function requestWith(idempotencyKey?: string): Request {
  return { get: (name: string) => (name === 'idempotency-key' ? idempotencyKey : undefined) } as Request;
}

async function problemFrom(failure: Error, idempotencyKey?: string): Promise<ProblemError> {
  const outcome = await executeSubscriptionUpdate(
    clientFailingWith(failure),
    requestWith(idempotencyKey),
    'ten_1',
    'subscription:ten_1:sub_1',
    cancelAtPeriodEnd,
    [{ at: 'period_end' }],
  ).then(
    () => new Error('expected the update to fail'),
    (error: unknown) => error,
  );
  if (!(outcome instanceof ProblemError)) throw outcome;
  return outcome;
}

const grpcError = (code: number, text: string) => Object.assign(new Error(`${code} ${text}`), { code });

/** The workflow's validator refused the update with this failure type and message. */
const refusal = (type: string, message: string) =>
  new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ type, message }));

describe('a subscription update that gets no answer is a 503 the client may retry', () => {
  it.each([
    [
      'the deadline expired during a call (DEADLINE_EXCEEDED)',
      new WorkflowUpdateRPCTimeoutOrCancelledError('Deadline exceeded after 9.990s', {
        cause: grpcError(4, 'DEADLINE_EXCEEDED: Deadline exceeded after 9.990s'),
      }),
    ],
    [
      // The race seen in CI: the deadline passes between the SDK's repeated UpdateWorkflowExecution calls.
      'the deadline expired between calls (CANCELLED)',
      new WorkflowUpdateRPCTimeoutOrCancelledError('Call cancelled', {
        cause: grpcError(1, 'CANCELLED: Call cancelled'),
      }),
    ],
    [
      'Temporal is unreachable (UNAVAILABLE)',
      new ServiceError('Workflow Update failed', {
        cause: grpcError(14, 'UNAVAILABLE: No connection established'),
      }),
    ],
  ])('%s', async (_label, failure) => {
    const problem = await problemFrom(failure, 'cancel-later-1');
    expect(problem.kind).toBe('unavailable');
    expect(problem.extensions.field).toBe('id');
    expect(problem.detail).toMatch(/retry with the same Idempotency-Key/);
  });
});

describe("the workflow's refusals become 4xx problems naming the field", () => {
  it('an InvalidRequest from a validator is a 422 whose field is snake_cased', async () => {
    const failure = refusal('InvalidRequest', 'trialEnd: must be after the trial start');
    const problem = await problemFrom(failure);
    expect(problem.kind).toBe('unprocessable');
    expect(problem.extensions.field).toBe('trial_end');
    expect(problem.detail).toBe('must be after the trial start');
  });

  it('an InvalidState is a 409', async () => {
    const failure = refusal('InvalidState', 'status: the subscription is already canceling');
    expect((await problemFrom(failure)).kind).toBe('conflict');
  });

  it('a workflow that is no longer running is a 409', async () => {
    const failure = new WorkflowNotFoundError('not found', 'subscription:ten_1:sub_1', undefined);
    const problem = await problemFrom(failure);
    expect(problem.kind).toBe('conflict');
    expect(problem.detail).toMatch(/no longer running/);
  });
});

describe('what the update is sent with', () => {
  it("derives the update id from the tenant, the update and the request's Idempotency-Key", async () => {
    const seen: unknown[] = [];
    await executeSubscriptionUpdate(
      clientFailingWith(grpcError(4, 'DEADLINE_EXCEEDED'), seen),
      requestWith('cancel-later-1'),
      'ten_1',
      'subscription:ten_1:sub_1',
      cancelAtPeriodEnd,
      [{ at: 'period_end' }],
    ).catch(() => undefined);
    expect(seen).toEqual([{ args: [{ at: 'period_end' }], updateId: 'ten_1:cancel:cancel-later-1' }]);
  });

  it('passes on a failure it does not understand, so it is logged as a 500', async () => {
    const bug = new TypeError('cannot read properties of undefined');
    await expect(
      executeSubscriptionUpdate(
        clientFailingWith(bug),
        requestWith(),
        'ten_1',
        'subscription:ten_1:sub_1',
        cancelAtPeriodEnd,
        [{ at: 'period_end' }],
      ),
    ).rejects.toBe(bug);
  });
});
