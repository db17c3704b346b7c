/**
 * One subscription's whole life as a durable workflow. Each run waits for the end of one billing
 * period on a durable timer, invoices that period through an idempotent activity, and continues as
 * new into the next period, so the history stays small however many years the subscription lives.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { periodOf, type BillingPeriod } from '../domain/calendar';
import {
  cancelSignal,
  getStateQuery,
  SearchAttributes,
  type SubscriptionState,
  type SubscriptionStatus,
  type SubscriptionWorkflowInput,
  type SubscriptionWorkflowResult,
} from './contracts';

const { createPeriodInvoice, recordSubscriptionState } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function subscriptionWorkflow(
  input: SubscriptionWorkflowInput,
): Promise<SubscriptionWorkflowResult> {
  let status: SubscriptionStatus = 'active';
  let invoicesIssued = input.invoicesIssued;
  let canceledAt: string | null = null;
  let cancellationReason: string | null = null;
  let cancelRequested: { reason: string | null } | undefined;
  const period: BillingPeriod = periodOf(input.schedule, input.periodIndex);

  const state = (): SubscriptionState => ({
    tenantId: input.tenantId,
    subscriptionId: input.subscriptionId,
    customerId: input.customerId,
    status,
    plan: input.plan,
    currentPeriod: period,
    invoicesIssued,
    canceledAt,
    cancellationReason,
  });

  setHandler(getStateQuery, state);
  setHandler(cancelSignal, (request) => {
    cancelRequested ??= { reason: request.reason ?? null };
  });

  const mirror = async (): Promise<void> => {
    upsertSearchAttributes([{ key: SearchAttributes.status, value: status }]);
    await recordSubscriptionState({
      tenantId: input.tenantId,
      subscriptionId: input.subscriptionId,
      status,
      currentPeriod: period,
      canceledAt,
      cancellationReason,
    });
  };

  await mirror();

  const msUntilPeriodEnd = Date.parse(period.end) - Date.now();
  const canceledEarly =
    msUntilPeriodEnd > 0
      ? await condition(() => cancelRequested !== undefined, msUntilPeriodEnd)
      : cancelRequested !== undefined;

  if (!canceledEarly) {
    await createPeriodInvoice({
      tenantId: input.tenantId,
      subscriptionId: input.subscriptionId,
      customerId: input.customerId,
      plan: input.plan,
      period,
    });
    invoicesIssued += 1;
  }

  if (cancelRequested !== undefined) {
    status = 'canceled';
    canceledAt = new Date(Date.now()).toISOString();
    cancellationReason = cancelRequested.reason;
    await mirror();
    await condition(allHandlersFinished);
    return { status, canceledAt, invoicesIssued };
  }

  await condition(allHandlersFinished);
  return continueAsNew<typeof subscriptionWorkflow>({
    ...input,
    periodIndex: input.periodIndex + 1,
    invoicesIssued,
  });
}
