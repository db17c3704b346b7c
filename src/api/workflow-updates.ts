import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { UpdateDefinition } from '@temporalio/common';
import type { Request } from 'express';
import { ProblemError } from './problem';

/**
 * Runs a workflow update for an HTTP request and turns the workflow's refusal into problem+json: the
 * validators throw ApplicationFailure 'InvalidRequest' (→ 422) or 'InvalidState' (→ 409) with a message
 * that starts with the field. With an Idempotency-Key the update id is derived from it, so a retried
 * request that reaches Temporal again is deduplicated there too, not applied twice.
 */
export async function executeSubscriptionUpdate<Ret, Args extends [unknown, ...unknown[]] | []>(
  temporal: Client,
  req: Request,
  tenantId: string,
  workflowId: string,
  update: UpdateDefinition<Ret, Args>,
  args: Args,
): Promise<Ret> {
  const key = req.get('idempotency-key');
  const handle = temporal.workflow.getHandle(workflowId);
  try {
    const options = { args, ...(key === undefined ? {} : { updateId: `${tenantId}:${update.name}:${key}` }) };
    // The client's overloads split on "no arguments" vs "some"; both take exactly these options.
    type Execute = (def: UpdateDefinition<Ret, Args>, opts: typeof options) => Promise<Ret>;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it: no overload accepts a generic Args
    const execute = handle.executeUpdate.bind(handle) as unknown as Execute;
    return await temporal.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () => execute(update, options));
  } catch (error) {
    if (isUnanswered(error)) {
      throw new ProblemError(
        'unavailable',
        'The subscription did not answer in time (no worker is running, or Temporal is unreachable); retry with the same Idempotency-Key',
        { field: 'id' },
      );
    }
    if (error instanceof WorkflowNotFoundError) {
      throw new ProblemError('conflict', 'The subscription is no longer running (canceled or ended)', {
        field: 'id',
      });
    }
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
      const { type, message } = error.cause;
      const field = /^([A-Za-z_][\w.[\]]*):/.exec(message)?.[1];
      const detail = field === undefined ? message : message.slice(field.length + 1).trim();
      throw new ProblemError(type === 'InvalidState' ? 'conflict' : 'unprocessable', detail, {
        ...(field === undefined ? {} : { field: toSnakeCase(field) }),
      });
    }
    // A workflow that completed while the update was in flight.
    if (error instanceof Error && /workflow execution already completed/i.test(error.message)) {
      throw new ProblemError('conflict', 'The subscription is no longer running (canceled or ended)', {
        field: 'id',
      });
    }
    throw error;
  }
}

/** Long enough for a gateway charge inside retryPayment or always_invoice; an HTTP client waits this long. */
const UPDATE_DEADLINE_MS = 30_000;

/**
 * The update never got an outcome: the deadline passed (no worker polled the workflow), or Temporal
 * could not be reached. When the deadline expires between the SDK's repeated UpdateWorkflowExecution
 * calls, gRPC reports CANCELLED rather than DEADLINE_EXCEEDED, so both count; the SDK wraps either in
 * WorkflowUpdateRPCTimeoutOrCancelledError. A retry with the same Idempotency-Key reuses the update id,
 * so Temporal applies the change at most once however many attempts reach it.
 */
function isUnanswered(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    if (current instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'number' && UNANSWERED_GRPC_CODES.has(code)) return true;
    if (/deadline exceeded/i.test(current.message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** gRPC CANCELLED (1), DEADLINE_EXCEEDED (4) and UNAVAILABLE (14). */
const UNANSWERED_GRPC_CODES: ReadonlySet<number> = new Set([1, 4, 14]);

function toSnakeCase(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
