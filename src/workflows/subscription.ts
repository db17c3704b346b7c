/**
 * One subscription's whole life as a durable workflow: trial, renewals, plan changes with proration,
 * pauses, cancellation, payment collection and dunning.
 *
 * Each run serves one billing period: it issues the period's invoice (in advance) and collects it, then
 * waits on durable timers (period end, dunning retries, grace end, trial end, automatic resume) and on
 * requests (updates and signals), and continues as new at the period boundary carrying the whole state.
 * Every request and every timer runs its work under one lock, so activities of two requests never
 * interleave and each sees the state the previous one left.
 *
 * Deterministic by construction: only @temporalio/workflow APIs, pure domain code, and activity calls
 * whose idempotency keys derive from this state (never from randomness or the wall clock).
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  SubscriptionActivities,
  BillingReason,
  CollectionTrigger,
  IssuedInvoice,
  OutboxEvent,
  PaymentDeclinedDetails,
  UsageLinesResult,
} from '../activities/contracts';
import type {
  BillingSettings,
  InvoiceLineDraft,
  ProrationBehavior,
  SubscriptionItem,
} from '../domain/billing-types';
import {
  type BillingPeriod,
  createSchedule,
  formatInstant,
  parseInstantMs,
  periodOf,
} from '../domain/calendar';
import { isUpgrade, validateItems } from '../domain/catalog';
import { graceEndsAt, nextRetryAt } from '../domain/dunning';
import { cancellationCreditLines, periodLines, prorationLines, sumLinesMinor } from '../domain/invoice-lines';
import { withCrossing } from '../domain/usage/thresholds';
import {
  addAddonUpdate,
  cancelUpdate,
  changePlanUpdate,
  changeQuantityUpdate,
  currentPeriodQuery,
  extendTrialUpdate,
  getStateQuery,
  pauseUpdate,
  paymentFailedSignal,
  paymentMethodUpdatedSignal,
  paymentSucceededSignal,
  PAYMENT_DECLINED_ERROR_TYPE,
  removeAddonUpdate,
  resumeUpdate,
  retryPaymentUpdate,
  SearchAttributes,
  undoCancelUpdate,
  upcomingInvoiceQuery,
  usageThresholdReachedSignal,
  type AddAddonRequest,
  type CancelRequest,
  type CancelResult,
  type ChangePlanRequest,
  type ChangeQuantityRequest,
  type ExtendTrialRequest,
  type PauseRequest,
  type RemoveAddonRequest,
  type ResumeRequest,
  type RetryPaymentRequest,
  type ChangeTiming,
  type InvoiceSummary,
  type ItemChangeResult,
  type PaymentFailedSignal,
  type PaymentOutcome,
  type PaymentSucceededSignal,
  type SubscriptionState,
  type SubscriptionStatus,
  type SubscriptionWorkflowInput,
  type SubscriptionWorkflowResult,
  type UsageDue,
} from './contracts';
import {
  currentPeriodOf,
  type ItemsOrError,
  nextDeadlineMs,
  recurrenceOf,
  stubFullPeriod,
  upcomingInvoiceOf,
  withAddon,
  withoutAddon,
  withPlanPrice,
  withQuantity,
} from './subscription-state';

// Database writes: retried until they succeed (a broken invariant shows as a failing activity in the UI).
const db = proxyActivities<SubscriptionActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// Gateway calls: a timeout is retried with the same idempotency key; a decline is a non-retryable
// business outcome. Bounded, so a provider that keeps answering 5xx lands in dunning, not in a loop.
const gateway = proxyActivities<SubscriptionActivities>({
  startToCloseTimeout: '2 minutes',
  // collectPayment heartbeats during the gateway call: a dead worker is detected in seconds.
  heartbeatTimeout: '20 seconds',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 12,
    nonRetryableErrorTypes: [PAYMENT_DECLINED_ERROR_TYPE],
  },
});

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type State = Mutable<SubscriptionWorkflowInput>;

const TERMINAL: readonly SubscriptionStatus[] = ['canceled', 'ended'];
const MAX_TRIAL_DAYS = 730;
const MS_PER_DAY = 86_400_000;

/** A FIFO lock: ownership passes straight to the next waiter, so two waiters can never both enter. */
class Lock {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.held) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.held = true;
    try {
      return await fn();
    } finally {
      const next = this.waiters.shift();
      if (next === undefined) this.held = false;
      else next();
    }
  }
}

function invalidRequest(message: string): never {
  throw ApplicationFailure.create({ type: 'InvalidRequest', message, nonRetryable: true });
}

function invalidState(message: string): never {
  throw ApplicationFailure.create({ type: 'InvalidState', message, nonRetryable: true });
}

/**
 * Workflow time to the whole second. A timer fires a few milliseconds after its instant; business
 * timestamps (attempts, failures, changes) read as the second they were due, and dunning offsets stay
 * whole hours from it.
 */
function nowIso(): string {
  return formatInstant(Math.floor(Date.now() / 1000) * 1000);
}

export async function subscriptionWorkflow(
  input: SubscriptionWorkflowInput,
): Promise<SubscriptionWorkflowResult> {
  const s: State = { ...input };
  const lock = new Lock();
  const info = workflowInfo();
  let settings: BillingSettings | null = null;
  // Set by handlers whose change moves a deadline or asks for work; the main loop then re-plans.
  let wake = false;
  let retryOnNewPaymentMethod = false;
  const gatewaySignals: Array<
    { kind: 'succeeded'; data: PaymentSucceededSignal } | { kind: 'failed'; data: PaymentFailedSignal }
  > = [];
  let eventSeq = 0;
  let pendingEvents: OutboxEvent[] = [];
  let mirroredStatus: SubscriptionStatus | null = null;
  let mirroredPlanId: string | null = null;

  const state = (): SubscriptionState => ({ ...s, currentPeriod: currentPeriodOf(s) });
  const period = (): BillingPeriod => {
    if (s.schedule === null) throw new Error('no billing schedule: the subscription is not in a paid period');
    return periodOf(s.schedule, s.periodIndex);
  };
  const isTerminal = (): boolean => TERMINAL.includes(s.status);
  const servicePaused = (): boolean => s.pause?.inEffect === true && s.pause.behavior === 'pause_service';
  const collectionPaused = (): boolean =>
    s.pause?.inEffect === true && s.pause.behavior === 'pause_collection';

  // ----------------------------------------------------------------------------------------------
  // Notifications and mirroring

  const emit = (type: string, data: Record<string, unknown>, emailCustomer = false): void => {
    eventSeq += 1;
    pendingEvents.push({
      type,
      // Run id + sequence: the same on every replay and activity retry, distinct across runs.
      idempotencyKey: `evt:${info.runId}:${eventSeq}`,
      occurredAt: nowIso(),
      data: { subscription: s.subscriptionId, status: s.status, ...data },
      emailCustomer,
    });
  };

  const setStatus = (next: SubscriptionStatus, reason: string): void => {
    if (s.status === next) return;
    const previous = s.status;
    s.status = next;
    const customerFacing = ['past_due', 'unpaid', 'canceled', 'paused'].includes(next);
    emit('customer.subscription.updated', { previous_status: previous, reason }, customerFacing);
  };

  /** Writes pending events, the Postgres mirror and the search attributes. */
  const publish = async (): Promise<void> => {
    if (pendingEvents.length > 0) {
      const events = pendingEvents;
      pendingEvents = [];
      await db.emitEvents({
        tenantId: s.tenantId,
        subscriptionId: s.subscriptionId,
        customerId: s.customerId,
        events,
      });
    }
    const planId = s.items.find((item) => item.kind === 'plan')?.price.planId ?? null;
    if (s.status !== mirroredStatus || planId !== mirroredPlanId) {
      upsertSearchAttributes([
        { key: SearchAttributes.status, value: s.status },
        ...(planId === null ? [] : [{ key: SearchAttributes.planId, value: planId }]),
      ]);
      mirroredStatus = s.status;
      mirroredPlanId = planId;
    }
    const current = currentPeriodOf(s);
    await db.recordSubscriptionState({
      tenantId: s.tenantId,
      subscriptionId: s.subscriptionId,
      status: s.status,
      items: s.items,
      currentPeriod: current,
      billingAnchor: s.schedule?.anchor ?? null,
      trialStart: s.trial?.start ?? null,
      trialEnd: s.trial?.end ?? null,
      cancelAtPeriodEnd: s.cancelAtPeriodEnd,
      canceledAt: s.cancellation?.canceledAt ?? null,
      endedAt: s.cancellation?.endedAt ?? null,
      cancellationReason: s.cancellation?.reason ?? null,
      pauseBehavior: s.pause?.behavior ?? null,
      pausedAt: s.pause?.inEffect === true ? s.pause.effectiveAt : null,
      resumesAt: s.pause?.resumesAt ?? null,
      accessSuspended: s.dunning?.accessSuspended ?? false,
    });
  };

  const loadSettings = async (): Promise<BillingSettings> => {
    settings ??= await db.getBillingSettings({ tenantId: s.tenantId });
    return settings;
  };

  // ----------------------------------------------------------------------------------------------
  // Invoicing and collection

  const summarize = (invoice: IssuedInvoice): InvoiceSummary => ({
    invoiceId: invoice.invoiceId,
    number: invoice.number,
    totalMinor: invoice.totalMinor,
    amountDueMinor: invoice.amountDueMinor,
    status: invoice.status,
  });

  const issue = async (
    billingReason: BillingReason,
    idempotencyKey: string,
    servicePeriod: { start: string; end: string },
    lines: InvoiceLineDraft[],
    usage: UsageLinesResult['usageBilled'] = [],
  ): Promise<IssuedInvoice> => {
    const invoice = await db.issueInvoice({
      tenantId: s.tenantId,
      subscriptionId: s.subscriptionId,
      customerId: s.customerId,
      currency: s.currency,
      billingReason,
      idempotencyKey,
      period: servicePeriod,
      lines,
      // Never before the period it opens (an anchor with milliseconds, and now truncated to the second).
      issuedAt: nowIso() < servicePeriod.start ? servicePeriod.start : nowIso(),
      // usage-charges: only invoices that bill usage carry the field (others are exactly as before).
      ...(usage.length === 0 ? {} : { usageBilled: usage }),
    });
    s.invoicesIssued += 1;
    s.lastInvoice = summarize(invoice);
    return invoice;
  };

  const markPaid = (invoiceId: string): void => {
    const { [invoiceId]: _paid, ...stillOpen } = s.paymentAttempts;
    s.paymentAttempts = stillOpen;
    s.awaitingPayment = s.awaitingPayment.filter((id) => id !== invoiceId);
    s.uncollectedInvoiceIds = s.uncollectedInvoiceIds.filter((id) => id !== invoiceId);
    if (s.lastInvoice?.invoiceId === invoiceId) {
      s.lastInvoice = { ...s.lastInvoice, status: 'paid', amountDueMinor: s.lastInvoice.amountDueMinor };
    }
    if (s.dunning !== null) {
      const remaining = s.dunning.invoiceIds.filter((id) => id !== invoiceId);
      if (remaining.length === 0) {
        emit('customer.subscription.recovered', { invoice: invoiceId, attempts: s.dunning.attempts }, true);
        s.dunning = null;
      } else {
        s.dunning = { ...s.dunning, invoiceIds: remaining };
      }
    }
    if (s.dunning === null && ['incomplete', 'past_due', 'unpaid'].includes(s.status)) {
      setStatus(collectionPaused() ? 'paused' : 'active', 'payment_succeeded');
    }
  };

  /** A failed attempt: start dunning, or advance it, or run the final action when it is exhausted. */
  const recordDecline = async (
    invoiceId: string,
    declineCode: string,
    message: string,
    trigger: CollectionTrigger,
    billingReason: BillingReason | null,
  ): Promise<void> => {
    const policy = (await loadSettings()).dunning;
    const now = nowIso();
    if (s.dunning === null) {
      const next = nextRetryAt(policy, now, 1);
      s.dunning = {
        invoiceIds: [invoiceId],
        firstFailureAt: now,
        attempts: 1,
        nextRetryAt: next,
        graceEndsAt: graceEndsAt(policy, now),
        accessSuspended: false,
        lastDeclineCode: declineCode,
        lastDeclineMessage: message,
      };
      const firstInvoiceOfSubscription = billingReason === 'subscription_create';
      setStatus(firstInvoiceOfSubscription ? 'incomplete' : 'past_due', `payment_failed:${declineCode}`);
      emit(
        'invoice.payment_retry_scheduled',
        { invoice: invoiceId, attempt: 1, decline_code: declineCode, next_payment_attempt: next },
        true,
      );
      if (next === null) await exhaustDunning();
      return;
    }
    const invoiceIds = s.dunning.invoiceIds.includes(invoiceId)
      ? s.dunning.invoiceIds
      : [...s.dunning.invoiceIds, invoiceId];
    s.dunning = { ...s.dunning, invoiceIds, lastDeclineCode: declineCode, lastDeclineMessage: message };
    // Only the scheduled retries walk the policy; manual and card-update retries are extra chances.
    if (trigger !== 'retry') return;
    const attempts = s.dunning.attempts + 1;
    const next = nextRetryAt(policy, s.dunning.firstFailureAt, attempts);
    s.dunning = { ...s.dunning, attempts, nextRetryAt: next };
    emit(
      'invoice.payment_retry_scheduled',
      { invoice: invoiceId, attempt: attempts, decline_code: declineCode, next_payment_attempt: next },
      true,
    );
    if (next === null) await exhaustDunning();
  };

  const exhaustDunning = async (): Promise<void> => {
    const policy = (await loadSettings()).dunning;
    if (s.dunning === null) return;
    s.dunning = { ...s.dunning, nextRetryAt: null };
    emit('customer.subscription.dunning_exhausted', {
      attempts: s.dunning.attempts,
      final_action: policy.finalAction,
      invoices: s.dunning.invoiceIds,
    });
    // A subscription whose very first payment never succeeded has nothing to keep unpaid.
    if (policy.finalAction === 'cancel' || s.status === 'incomplete') {
      endNow(s.status === 'incomplete' ? 'incomplete_expired' : 'payment_failed');
    } else {
      setStatus('unpaid', 'dunning_exhausted');
    }
  };

  /**
   * One payment attempt on one invoice; the gateway key is `charge:{invoiceId}:{attempt}`, so a retried
   * activity (a timeout) replays the same charge instead of making a second one.
   */
  const collect = async (
    invoiceId: string,
    trigger: CollectionTrigger,
    billingReason: BillingReason | null,
  ): Promise<PaymentOutcome> => {
    const attempt = (s.paymentAttempts[invoiceId] ?? 0) + 1;
    s.paymentAttempts = { ...s.paymentAttempts, [invoiceId]: attempt };
    try {
      const result = await gateway.collectPayment({
        tenantId: s.tenantId,
        invoiceId,
        attempt,
        trigger,
        attemptedAt: nowIso(),
      });
      if (result.status === 'paid') {
        markPaid(invoiceId);
        return { status: 'paid', invoiceId, amountMinor: result.amountMinor };
      }
      if (!s.awaitingPayment.includes(invoiceId)) s.awaitingPayment = [...s.awaitingPayment, invoiceId];
      emit(
        'invoice.payment_pending',
        { invoice: invoiceId, payment_status: result.status },
        result.status === 'requires_action',
      );
      return { status: result.status, invoiceId };
    } catch (error) {
      const declined = declineOf(error, invoiceId);
      await recordDecline(invoiceId, declined.declineCode, declined.message, trigger, billingReason);
      return { status: 'declined', invoiceId, declineCode: declined.declineCode, message: declined.message };
    }
  };

  // ---- usage-charges ▼ Usage charges are billed in arrears (ADR 0008, "Billing"): a period's usage
  // on the next period's invoice, or on a final invoice when the subscription ends.

  const usageDueOf = (
    served: { start: string; end: string },
    items: readonly SubscriptionItem[],
  ): UsageDue => ({
    period: { start: served.start, end: served.end },
    items: items.map((item) => ({
      itemId: item.itemId,
      priceId: item.price.priceId,
      planId: item.price.planId,
    })),
  });

  /** Usage lines of the due periods; late usage of earlier periods is looked up once, with the first. */
  const usageOf = async (dues: readonly UsageDue[], idempotencyKey: string) => {
    const results: UsageLinesResult[] = [];
    for (const [index, due] of dues.entries()) {
      results.push(
        await db.usageLines({
          tenantId: s.tenantId,
          subscriptionId: s.subscriptionId,
          customerId: s.customerId,
          currency: s.currency,
          period: due.period,
          items: due.items,
          idempotencyKey,
          ...(index === 0 ? {} : { lookbackPeriods: 0 }),
        }),
      );
    }
    return {
      lines: results.flatMap((result) => result.lines),
      usageBilled: results.flatMap((result) => result.usageBilled),
    };
  };

  /** The subscription ends at `endAt`: usage not billed yet (queued, and the current period's up to
   * `endAt`) goes on a final invoice, charged like any other. */
  const invoiceFinalUsage = async (endAt: string): Promise<void> => {
    const dues = [...(s.usageDue ?? [])];
    if (s.schedule !== null && !servicePaused())
      dues.push(usageDueOf({ start: period().start, end: endAt }, s.items));
    const first = dues[0];
    if (first === undefined) return;
    const key = `invoice:${s.subscriptionId}:final_usage:${first.period.start}`;
    const usage = await usageOf(dues, key);
    s.usageDue = [];
    if (usage.lines.length === 0) return;
    const invoice = await issue(
      'subscription_update',
      key,
      { start: first.period.start, end: endAt },
      usage.lines,
      usage.usageBilled,
    );
    await settleNewInvoice(invoice, 'subscription_update');
  };
  // ---- usage-charges ▲

  /** Issues the current period's invoice and charges it (unless collection is paused). */
  const invoiceCurrentPeriod = async (): Promise<void> => {
    const current = period();
    const billingReason: BillingReason =
      s.invoicesIssued === 0 && s.trial === null ? 'subscription_create' : 'subscription_cycle';
    // A calendar-aligned start is a stub: the remaining part of the full period ending at the anchor.
    const stub = s.schedule !== null && s.periodIndex === 0 ? stubFullPeriod(s.schedule) : null;
    const policy = await loadSettings();
    const itemLines =
      stub === null
        ? periodLines(s.items, current)
        : prorationLines({
            period: stub,
            changeAt: current.start,
            before: [],
            after: s.items,
            granularity: policy.prorationGranularity,
            roundingMode: policy.roundingMode,
          });
    const lines = [...itemLines, ...s.pendingLines];
    // usage-charges: the usage of the period(s) that ended, in arrears, with this period's lines.
    const invoiceKey = `invoice:${s.subscriptionId}:${current.start}`;
    const due = s.usageDue ?? [];
    const usage = due.length > 0 && patched('usage-charges') ? await usageOf(due, invoiceKey) : null;
    if (usage !== null) lines.push(...usage.lines);
    const invoice = await issue(billingReason, invoiceKey, current, lines, usage?.usageBilled);
    if (usage !== null) s.usageDue = [];
    s.pendingLines = [];
    s.periodInvoiced = true;
    s.currentPeriodInvoiceId = invoice.invoiceId;
    await settleNewInvoice(invoice, billingReason);
  };

  const settleNewInvoice = async (
    invoice: IssuedInvoice,
    billingReason: BillingReason,
  ): Promise<PaymentOutcome | null> => {
    if (invoice.status === 'paid' || invoice.amountDueMinor === 0) {
      markPaid(invoice.invoiceId);
      if (s.status === 'incomplete') setStatus('active', 'invoice_paid');
      return { status: 'paid', invoiceId: invoice.invoiceId, amountMinor: 0 };
    }
    if (collectionPaused()) {
      s.uncollectedInvoiceIds = [...s.uncollectedInvoiceIds, invoice.invoiceId];
      return null;
    }
    if (s.status === 'unpaid') {
      // Stripe semantics: while unpaid, invoices are issued but not charged until the customer recovers.
      if (s.dunning !== null)
        s.dunning = { ...s.dunning, invoiceIds: [...s.dunning.invoiceIds, invoice.invoiceId] };
      return null;
    }
    const outcome = await collect(invoice.invoiceId, 'automatic', billingReason);
    if (outcome.status === 'paid' && s.status === 'incomplete') setStatus('active', 'invoice_paid');
    return outcome;
  };

  /** Retries every open invoice oldest first; stops at the first decline. */
  const retryOpenInvoices = async (trigger: CollectionTrigger): Promise<void> => {
    const open = [...(s.dunning?.invoiceIds ?? [])];
    // Consumed now; a decline schedules the next one, a processing payment waits for its webhook.
    if (s.dunning !== null && trigger === 'retry') s.dunning = { ...s.dunning, nextRetryAt: null };
    for (const invoiceId of open) {
      const outcome = await collect(invoiceId, trigger, null);
      if (outcome.status !== 'paid') break;
    }
  };

  // ----------------------------------------------------------------------------------------------
  // Lifecycle transitions

  /** Ends the subscription; `at` is the boundary it ends on (a timer fires a few ms after it). */
  const endNow = (reason: string, at: string = nowIso()): void => {
    const now = at;
    s.cancellation = {
      requestedAt: s.cancellation?.requestedAt ?? now,
      canceledAt: now,
      endedAt: now,
      reason: s.cancellation?.reason ?? reason,
    };
    s.cancelAtPeriodEnd = false;
    s.scheduledItems = null;
    if (s.dunning !== null) s.dunning = { ...s.dunning, nextRetryAt: null };
    setStatus('canceled', reason);
    emit('customer.subscription.deleted', { reason: s.cancellation.reason }, true);
  };

  const convertTrial = (): void => {
    const trial = s.trial;
    if (trial === null) return;
    if (s.cancelAtPeriodEnd) {
      endNow('canceled_at_trial_end', trial.end);
      return;
    }
    if (!s.hasPaymentMethod && s.trialEndBehavior === 'cancel') {
      endNow('trial_ended_without_payment_method', trial.end);
      return;
    }
    s.schedule = createSchedule(trial.end, recurrenceOf(s.items), s.alignment);
    s.periodIndex = 0;
    s.periodInvoiced = false;
    setStatus('active', 'trial_ended');
  };

  const resumeNow = async (): Promise<void> => {
    const pause = s.pause;
    if (pause === null) return;
    s.pause = null;
    if (pause.behavior === 'pause_service' && pause.inEffect) {
      // A fresh period starts at the resume instant (the requested one, or now to the whole second).
      const resumeAt =
        pause.resumesAt !== null && Date.now() >= parseInstantMs(pause.resumesAt)
          ? pause.resumesAt
          : formatInstant(Math.floor(Date.now() / 1000) * 1000);
      s.schedule = createSchedule(resumeAt, recurrenceOf(s.items), s.alignment);
      s.periodIndex = 0;
      s.periodInvoiced = false;
    }
    setStatus(s.dunning === null ? 'active' : s.status === 'paused' ? 'past_due' : s.status, 'resumed');
    emit('customer.subscription.resumed', { behavior: pause.behavior }, true);
    if (pause.behavior === 'pause_collection') {
      const uncollected = s.uncollectedInvoiceIds;
      s.uncollectedInvoiceIds = [];
      for (const invoiceId of uncollected) {
        const outcome = await collect(invoiceId, 'resume', null);
        if (outcome.status === 'declined') {
          // The rest join dunning behind the one that failed.
          const rest = uncollected.slice(uncollected.indexOf(invoiceId) + 1);
          if (s.dunning !== null)
            s.dunning = { ...s.dunning, invoiceIds: [...s.dunning.invoiceIds, ...rest] };
          break;
        }
      }
    }
  };

  const pauseServiceNow = (): void => {
    const pause = s.pause;
    if (pause === null) return;
    s.pause = { ...pause, inEffect: true, effectiveAt: nowIso() };
    s.schedule = null;
    s.periodIndex = 0;
    s.periodInvoiced = false;
    s.currentPeriodInvoiceId = null;
    setStatus('paused', 'pause_service');
    emit('customer.subscription.paused', { behavior: pause.behavior, resumes_at: pause.resumesAt }, true);
  };

  type StepResult = 'continue' | 'continue_as_new' | 'finished';

  /** Does everything that is due now, in order. Runs under the lock. */
  const step = async (): Promise<StepResult> => {
    const policySettings = await loadSettings();
    const nowMs = Date.now();

    for (const signal of gatewaySignals.splice(0)) await applyGatewaySignal(signal);
    if (isTerminal()) return 'finished';

    if (s.status === 'trialing' && s.trial !== null) {
      const trial = s.trial;
      const endMs = parseInstantMs(trial.end);
      const reminderMs = endMs - policySettings.trialReminderDays * MS_PER_DAY;
      if (
        policySettings.trialReminderDays > 0 &&
        trial.reminderSentForEnd !== trial.end &&
        nowMs >= reminderMs
      ) {
        s.trial = { ...trial, reminderSentForEnd: trial.end };
        emit('customer.subscription.trial_will_end', { trial_end: trial.end }, true);
      }
      if (nowMs < endMs) return 'continue';
      convertTrial();
      if (isTerminal()) return 'finished';
    }

    if (s.pause !== null && s.pause.resumesAt !== null && nowMs >= parseInstantMs(s.pause.resumesAt)) {
      await resumeNow();
    }

    if (s.schedule !== null && !s.periodInvoiced && !servicePaused()) await invoiceCurrentPeriod();
    if (isTerminal()) return 'finished';

    if (retryOnNewPaymentMethod) {
      retryOnNewPaymentMethod = false;
      if (s.dunning !== null && !collectionPaused()) await retryOpenInvoices('payment_method_updated');
    }
    const dunning = s.dunning;
    if (
      dunning !== null &&
      dunning.nextRetryAt !== null &&
      !collectionPaused() &&
      nowMs >= parseInstantMs(dunning.nextRetryAt)
    ) {
      await retryOpenInvoices('retry');
    }
    if (isTerminal()) return 'finished';
    if (s.dunning !== null && !s.dunning.accessSuspended && nowMs >= parseInstantMs(s.dunning.graceEndsAt)) {
      s.dunning = { ...s.dunning, accessSuspended: true };
      emit('customer.subscription.access_suspended', { grace_ended_at: s.dunning.graceEndsAt }, true);
    }

    if (s.schedule !== null && !servicePaused() && nowMs >= parseInstantMs(period().end)) {
      // usage-charges: ending with the period, its usage goes on a final invoice.
      if (s.cancelAtPeriodEnd && patched('usage-charges')) await invoiceFinalUsage(period().end);
      return endOfPeriod();
    }
    return 'continue';
  };

  const endOfPeriod = (): StepResult => {
    if (s.cancelAtPeriodEnd) {
      endNow(s.cancellation?.reason ?? 'canceled_at_period_end', period().end);
      return 'finished';
    }
    // usage-charges: the period's usage is due on the next invoice, priced with the items it was
    // served with (before a scheduled change applies).
    if (patched('usage-charges')) s.usageDue = [...(s.usageDue ?? []), usageDueOf(period(), s.items)];
    if (s.scheduledItems !== null) {
      s.items = s.scheduledItems;
      s.scheduledItems = null;
      emit('customer.subscription.updated', { change: 'scheduled_items_applied' });
    }
    if (s.pause !== null && !s.pause.inEffect) {
      if (s.pause.behavior === 'pause_service') {
        pauseServiceNow();
        return 'continue_as_new';
      }
      s.pause = { ...s.pause, inEffect: true };
    }
    s.periodIndex += 1;
    s.periodInvoiced = false;
    s.currentPeriodInvoiceId = null;
    return 'continue_as_new';
  };

  const applyGatewaySignal = async (
    signal:
      { kind: 'succeeded'; data: PaymentSucceededSignal } | { kind: 'failed'; data: PaymentFailedSignal },
  ): Promise<void> => {
    const { invoiceId } = signal.data;
    if (signal.kind === 'succeeded') {
      const recorded = await db.recordGatewayPayment({
        tenantId: s.tenantId,
        invoiceId,
        providerPaymentId: signal.data.providerPaymentId,
        amountMinor: signal.data.amountMinor,
        currency: signal.data.currency,
        occurredAt: nowIso(),
      });
      if (recorded.status === 'paid') markPaid(invoiceId);
      return;
    }
    // A synchronous decline was already handled by collect(); only an asynchronous outcome counts here.
    if (!s.awaitingPayment.includes(invoiceId)) return;
    s.awaitingPayment = s.awaitingPayment.filter((id) => id !== invoiceId);
    await db.recordGatewayFailure({
      tenantId: s.tenantId,
      invoiceId,
      providerPaymentId: signal.data.providerPaymentId,
      declineCode: signal.data.declineCode,
      message: signal.data.message,
      occurredAt: nowIso(),
    });
    const trigger: CollectionTrigger = s.dunning === null ? 'automatic' : 'retry';
    await recordDecline(invoiceId, signal.data.declineCode, signal.data.message, trigger, null);
  };

  // ----------------------------------------------------------------------------------------------
  // Item changes (plan, quantity, add-ons)

  const assertChangeable = (): void => {
    if (isTerminal()) invalidState(`status: the subscription is ${s.status}`);
    if (servicePaused()) invalidState('status: the subscription is paused; resume it before changing items');
  };

  const checkedItems = (result: ItemsOrError): readonly SubscriptionItem[] => {
    if ('error' in result) invalidRequest(result.error);
    const problem = validateItems(result.items);
    if (problem !== null) invalidRequest(`items: ${problem}`);
    return result.items;
  };

  const applyItemChange = async (
    next: readonly SubscriptionItem[],
    requestedTiming: ChangeTiming | undefined,
    behavior: ProrationBehavior,
    scheduledNext: readonly SubscriptionItem[] | null,
  ): Promise<ItemChangeResult> => {
    const before = s.items;
    const timing = requestedTiming ?? (isUpgrade(before, next) ? 'now' : 'period_end');
    const empty = { prorationLines: [], prorationNetMinor: 0, invoice: null, payment: null };
    s.changeSeq += 1;
    if (s.status === 'trialing') {
      // Nothing has been charged during a trial, so there is nothing to prorate.
      s.items = next;
      emit('customer.subscription.updated', { change: 'items', timing: 'now' });
      await publish();
      return { effectiveAt: nowIso(), scheduled: false, items: s.items, ...empty };
    }
    if (timing === 'period_end' || s.schedule === null) {
      s.scheduledItems = next;
      emit('customer.subscription.updated', {
        change: 'items_scheduled',
        effective_at: currentPeriodOf(s)?.end,
      });
      await publish();
      return { effectiveAt: currentPeriodOf(s)?.end ?? nowIso(), scheduled: true, items: next, ...empty };
    }
    const settingsNow = await loadSettings();
    const changeAt = nowIso();
    const current = period();
    const lines =
      behavior === 'none'
        ? []
        : prorationLines({
            period: current,
            changeAt,
            before,
            after: next,
            granularity: settingsNow.prorationGranularity,
            roundingMode: settingsNow.roundingMode,
          });
    s.items = next;
    s.scheduledItems = scheduledNext;
    emit('customer.subscription.updated', { change: 'items', timing: 'now', proration_behavior: behavior });
    let invoice: IssuedInvoice | null = null;
    let payment: PaymentOutcome | null = null;
    if (behavior === 'create_prorations') {
      s.pendingLines = [...s.pendingLines, ...lines];
    } else if (behavior === 'always_invoice' && lines.length + s.pendingLines.length > 0) {
      const invoiceLines = [...lines, ...s.pendingLines];
      s.pendingLines = [];
      invoice = await issue(
        'subscription_update',
        `invoice:${s.subscriptionId}:change:${s.changeSeq}`,
        { start: changeAt, end: current.end },
        invoiceLines,
      );
      payment = await settleNewInvoice(invoice, 'subscription_update');
    }
    await publish();
    return {
      effectiveAt: changeAt,
      scheduled: false,
      items: s.items,
      prorationLines: lines,
      prorationNetMinor: sumLinesMinor(lines),
      invoice:
        invoice === null
          ? null
          : { ...summarize(invoice), status: payment?.status === 'paid' ? 'paid' : invoice.status },
      payment,
    };
  };

  const scheduledAfter = (
    op: (items: readonly SubscriptionItem[]) => ItemsOrError,
  ): readonly SubscriptionItem[] | null => {
    if (s.scheduledItems === null) return null;
    const result = op(s.scheduledItems);
    // A scheduled change the new one cannot be applied to is superseded by it.
    return 'error' in result || validateItems(result.items) !== null ? null : result.items;
  };

  setHandler(
    changePlanUpdate,
    (request: ChangePlanRequest) =>
      lock.run(() => {
        const next = checkedItems(withPlanPrice(s.items, request.price, request.quantity));
        return applyItemChange(next, request.timing, request.prorationBehavior ?? 'create_prorations', null);
      }),
    {
      validator: (request: ChangePlanRequest) => {
        assertChangeable();
        checkedItems(withPlanPrice(s.items, request.price, request.quantity));
      },
    },
  );

  setHandler(
    changeQuantityUpdate,
    (request: ChangeQuantityRequest) =>
      lock.run(() => {
        const op = (items: readonly SubscriptionItem[]) =>
          withQuantity(items, request.itemId, request.quantity);
        const next = checkedItems(op(s.items));
        return applyItemChange(
          next,
          request.timing,
          request.prorationBehavior ?? 'create_prorations',
          scheduledAfter(op),
        );
      }),
    {
      validator: (request: ChangeQuantityRequest) => {
        assertChangeable();
        checkedItems(withQuantity(s.items, request.itemId, request.quantity));
      },
    },
  );

  setHandler(
    addAddonUpdate,
    (request: AddAddonRequest) =>
      lock.run(() => {
        const op = (items: readonly SubscriptionItem[]) =>
          withAddon(items, request.itemId, request.price, request.quantity);
        const next = checkedItems(op(s.items));
        return applyItemChange(
          next,
          'now',
          request.prorationBehavior ?? 'create_prorations',
          scheduledAfter(op),
        );
      }),
    {
      validator: (request: AddAddonRequest) => {
        assertChangeable();
        checkedItems(withAddon(s.items, request.itemId, request.price, request.quantity));
      },
    },
  );

  setHandler(
    removeAddonUpdate,
    (request: RemoveAddonRequest) =>
      lock.run(() => {
        const op = (items: readonly SubscriptionItem[]) => withoutAddon(items, request.itemId);
        const next = checkedItems(op(s.items));
        return applyItemChange(
          next,
          request.timing ?? 'now',
          request.prorationBehavior ?? 'create_prorations',
          scheduledAfter(op),
        );
      }),
    {
      validator: (request: RemoveAddonRequest) => {
        assertChangeable();
        checkedItems(withoutAddon(s.items, request.itemId));
      },
    },
  );

  // ----------------------------------------------------------------------------------------------
  // Cancel, pause, resume, trial, payments

  setHandler(
    cancelUpdate,
    (request: CancelRequest) =>
      lock.run(async (): Promise<CancelResult> => {
        const reason = request.reason ?? null;
        const at = request.at ?? 'period_end';
        const now = nowIso();
        const current = currentPeriodOf(s);
        if (at === 'period_end' && current !== null && !servicePaused()) {
          s.cancelAtPeriodEnd = true;
          s.cancellation = { requestedAt: now, canceledAt: null, endedAt: null, reason };
          emit('customer.subscription.updated', { change: 'cancel_at_period_end', cancel_at: current.end });
          await publish();
          wake = true;
          return { status: s.status, cancelAt: current.end, creditNote: null, invoice: null };
        }
        // usage-charges: usage not billed yet goes on a final invoice before the subscription ends.
        if (patched('usage-charges')) await invoiceFinalUsage(now);
        let creditNote: CancelResult['creditNote'] = null;
        let finalInvoice: CancelResult['invoice'] = null;
        const prorated =
          request.prorate === true &&
          s.status !== 'trialing' &&
          s.schedule !== null &&
          s.currentPeriodInvoiceId !== null;
        if (s.pendingLines.length > 0 && patched('cancel-bills-pending-prorations')) {
          // Prorations waiting for the renewal would otherwise be lost: the customer owes the used
          // time of an upgrade. They are netted with the unused-time credit on one final invoice;
          // a negative total goes to the customer's credit balance.
          const settingsNow = await loadSettings();
          const unused = prorated
            ? prorationLines({
                period: period(),
                changeAt: now,
                before: s.items,
                after: [],
                granularity: settingsNow.prorationGranularity,
                roundingMode: settingsNow.roundingMode,
              })
            : [];
          const lines = [...s.pendingLines, ...unused];
          s.pendingLines = [];
          const invoice = await issue(
            'subscription_update',
            `invoice:${s.subscriptionId}:cancel:${period().start}`,
            { start: now, end: period().end },
            lines,
          );
          const payment = await settleNewInvoice(invoice, 'subscription_update');
          finalInvoice = {
            ...summarize(invoice),
            status: payment?.status === 'paid' ? 'paid' : invoice.status,
          };
        } else if (prorated && s.currentPeriodInvoiceId !== null) {
          const settingsNow = await loadSettings();
          const credit = cancellationCreditLines(
            s.items,
            period(),
            now,
            settingsNow.prorationGranularity,
            settingsNow.roundingMode,
          );
          if (credit.length > 0) {
            const issued = await db.issueCreditNote({
              tenantId: s.tenantId,
              customerId: s.customerId,
              invoiceId: s.currentPeriodInvoiceId,
              currency: s.currency,
              idempotencyKey: `credit_note:${s.subscriptionId}:cancel:${period().start}`,
              lines: credit,
              reason: 'subscription_canceled',
              issuedAt: now,
            });
            creditNote = {
              creditNoteId: issued.creditNoteId,
              number: issued.number,
              amountMinor: issued.amountMinor,
            };
          }
        }
        s.cancellation = { requestedAt: now, canceledAt: null, endedAt: null, reason: reason ?? 'requested' };
        endNow(reason ?? 'requested');
        await publish();
        wake = true;
        return { status: s.status, cancelAt: now, creditNote, invoice: finalInvoice };
      }),
    {
      validator: (request: CancelRequest) => {
        if (isTerminal()) invalidState(`status: the subscription is already ${s.status}`);
        if (request.at !== undefined && request.at !== 'now' && request.at !== 'period_end') {
          invalidRequest(`at: must be 'now' or 'period_end', got ${JSON.stringify(request.at)}`);
        }
        if (request.prorate === true && request.at !== 'now') {
          invalidRequest(
            "prorate: a prorated credit needs at: 'now' (a period-end cancel uses the whole period)",
          );
        }
        if (
          request.reason !== undefined &&
          (typeof request.reason !== 'string' || request.reason.length > 500)
        ) {
          invalidRequest('reason: at most 500 characters');
        }
      },
    },
  );

  setHandler(
    undoCancelUpdate,
    () =>
      lock.run(async () => {
        s.cancelAtPeriodEnd = false;
        s.cancellation = null;
        emit('customer.subscription.updated', { change: 'cancel_withdrawn' });
        await publish();
        wake = true;
        return state();
      }),
    {
      validator: () => {
        if (isTerminal())
          invalidState(`status: the subscription is already ${s.status}; it cannot be undone`);
        if (!s.cancelAtPeriodEnd) invalidState('cancel_at_period_end: no cancellation is scheduled');
      },
    },
  );

  setHandler(
    pauseUpdate,
    (request: PauseRequest) =>
      lock.run(async () => {
        const timing = request.timing ?? (request.behavior === 'pause_service' ? 'period_end' : 'now');
        s.pause = {
          behavior: request.behavior,
          effectiveAt: timing === 'now' ? nowIso() : period().end,
          resumesAt: request.resumesAt ?? null,
          inEffect: false,
        };
        if (timing === 'now') {
          if (request.behavior === 'pause_service') {
            const settingsNow = await loadSettings();
            // The unused part of the paid period is credited on the first invoice after resuming.
            const credit = prorationLines({
              period: period(),
              changeAt: nowIso(),
              before: s.items,
              after: [],
              granularity: settingsNow.prorationGranularity,
              roundingMode: settingsNow.roundingMode,
            });
            s.pendingLines = [...s.pendingLines, ...credit];
            // usage-charges: the usage served until the pause is billed on the first invoice after it.
            if (patched('usage-charges')) {
              s.usageDue = [
                ...(s.usageDue ?? []),
                usageDueOf({ start: period().start, end: nowIso() }, s.items),
              ];
            }
            pauseServiceNow();
          } else {
            s.pause = { ...s.pause, inEffect: true };
            setStatus('paused', 'pause_collection');
            emit(
              'customer.subscription.paused',
              { behavior: request.behavior, resumes_at: s.pause.resumesAt },
              true,
            );
          }
        } else {
          emit('customer.subscription.updated', {
            change: 'pause_scheduled',
            effective_at: s.pause.effectiveAt,
          });
        }
        await publish();
        wake = true;
        return state();
      }),
    {
      validator: (request: PauseRequest) => {
        if (isTerminal()) invalidState(`status: the subscription is ${s.status}`);
        if (s.status === 'trialing')
          invalidState('status: a trialing subscription cannot be paused; extend the trial');
        if (s.status === 'incomplete') invalidState('status: the first payment has not succeeded yet');
        if (s.pause !== null) invalidState('status: a pause is already in effect or scheduled');
        if (s.schedule === null) invalidState('status: the subscription has no current period');
        if (request.behavior !== 'pause_collection' && request.behavior !== 'pause_service') {
          invalidRequest(
            `behavior: must be pause_collection or pause_service, got ${JSON.stringify(request.behavior)}`,
          );
        }
        if (request.timing !== undefined && request.timing !== 'now' && request.timing !== 'period_end') {
          invalidRequest(`timing: must be 'now' or 'period_end'`);
        }
        if (request.resumesAt !== undefined) {
          const resumesMs = parseInstantOrReject(request.resumesAt, 'resumesAt');
          const effectiveMs =
            (request.timing ?? (request.behavior === 'pause_service' ? 'period_end' : 'now')) === 'now'
              ? Date.now()
              : parseInstantMs(period().end);
          if (resumesMs <= effectiveMs) invalidRequest('resumesAt: must be after the pause takes effect');
        }
      },
    },
  );

  setHandler(
    resumeUpdate,
    (_request: ResumeRequest) =>
      lock.run(async () => {
        if (s.pause !== null && !s.pause.inEffect) {
          s.pause = null;
          emit('customer.subscription.updated', { change: 'pause_withdrawn' });
        } else {
          await resumeNow();
          if (s.schedule !== null && !s.periodInvoiced) await invoiceCurrentPeriod();
        }
        await publish();
        wake = true;
        return state();
      }),
    {
      validator: (_request: ResumeRequest) => {
        if (isTerminal()) invalidState(`status: the subscription is ${s.status}`);
        if (s.pause === null) invalidState('status: the subscription is not paused');
      },
    },
  );

  setHandler(
    extendTrialUpdate,
    (request: ExtendTrialRequest) =>
      lock.run(async () => {
        if (s.trial !== null) {
          s.trial = { ...s.trial, end: request.trialEnd };
          emit('customer.subscription.updated', { change: 'trial_end', trial_end: request.trialEnd });
        }
        await publish();
        wake = true;
        return state();
      }),
    {
      validator: (request: ExtendTrialRequest) => {
        if (s.status !== 'trialing' || s.trial === null)
          invalidState('status: the subscription is not trialing');
        const endMs = parseInstantOrReject(request.trialEnd, 'trialEnd');
        if (endMs <= Date.now()) invalidRequest('trialEnd: must be in the future');
        if (endMs - parseInstantMs(s.trial.start) > MAX_TRIAL_DAYS * MS_PER_DAY) {
          invalidRequest(`trialEnd: a trial lasts at most ${MAX_TRIAL_DAYS} days`);
        }
      },
    },
  );

  setHandler(
    retryPaymentUpdate,
    (request: RetryPaymentRequest) =>
      lock.run(async () => {
        const invoiceId = request.invoiceId ?? openInvoices()[0];
        if (invoiceId === undefined) invalidState('invoiceId: nothing is open');
        s.uncollectedInvoiceIds = s.uncollectedInvoiceIds.filter((id) => id !== invoiceId);
        const outcome = await collect(invoiceId, 'manual', null);
        if (
          outcome.status === 'declined' &&
          s.dunning !== null &&
          !s.dunning.invoiceIds.includes(invoiceId)
        ) {
          s.dunning = { ...s.dunning, invoiceIds: [...s.dunning.invoiceIds, invoiceId] };
        }
        await publish();
        wake = true;
        return outcome;
      }),
    {
      validator: (request: RetryPaymentRequest) => {
        const open = openInvoices();
        if (open.length === 0) invalidState('invoiceId: the subscription has no open invoice to pay');
        if (request.invoiceId !== undefined && !open.includes(request.invoiceId)) {
          invalidState(`invoiceId: ${request.invoiceId} is not an open invoice of this subscription`);
        }
      },
    },
  );

  const openInvoices = (): string[] => [
    ...new Set([...(s.dunning?.invoiceIds ?? []), ...s.uncollectedInvoiceIds, ...s.awaitingPayment]),
  ];

  setHandler(paymentSucceededSignal, (data) => {
    gatewaySignals.push({ kind: 'succeeded', data });
    wake = true;
  });
  setHandler(paymentFailedSignal, (data) => {
    gatewaySignals.push({ kind: 'failed', data });
    wake = true;
  });
  setHandler(paymentMethodUpdatedSignal, () => {
    s.hasPaymentMethod = true;
    retryOnNewPaymentMethod = true;
    wake = true;
  });
  // Entitlements: a usage threshold was reached. A fact kept for operators (getState); nothing to wake.
  setHandler(usageThresholdReachedSignal, (crossing) => {
    s.usageThresholds = withCrossing(s.usageThresholds, crossing);
  });

  setHandler(getStateQuery, state);
  setHandler(currentPeriodQuery, () => currentPeriodOf(s));
  setHandler(upcomingInvoiceQuery, () => upcomingInvoiceOf(s));

  // ----------------------------------------------------------------------------------------------
  // Main loop

  if (info.continuedFromExecutionRunId === undefined && s.invoicesIssued === 0 && s.changeSeq === 0) {
    emit('customer.subscription.created', { trial_end: s.trial?.end ?? null });
  }
  await lock.run(async () => {
    await loadSettings();
    await publish();
  });

  let outcome: 'continue_as_new' | 'finished';
  for (;;) {
    // Cleared before the step, so a request that arrives while the step runs still wakes the next wait.
    wake = false;
    const result = await lock.run(async () => {
      const stepResult = await step();
      await publish();
      return stepResult;
    });
    if (result !== 'continue') {
      outcome = result;
      break;
    }
    if (workflowInfo().continueAsNewSuggested) {
      outcome = 'continue_as_new';
      break;
    }
    const deadlineMs = nextDeadlineMs(s, (await loadSettings()).trialReminderDays);
    if (deadlineMs === null) {
      await condition(() => wake);
    } else {
      const waitMs = deadlineMs - Date.now();
      if (waitMs > 0) await condition(() => wake, waitMs);
    }
  }

  await condition(allHandlersFinished);
  // Signals are not carried by continue-as-new: settle the ones that arrived after the last step.
  while (!isTerminal() && (gatewaySignals.length > 0 || retryOnNewPaymentMethod)) {
    await lock.run(async () => {
      for (const signal of gatewaySignals.splice(0)) await applyGatewaySignal(signal);
      if (retryOnNewPaymentMethod) {
        retryOnNewPaymentMethod = false;
        if (s.dunning !== null && !collectionPaused()) await retryOpenInvoices('payment_method_updated');
      }
      await publish();
    });
    await condition(allHandlersFinished);
  }
  if (outcome === 'continue_as_new' && !isTerminal()) {
    return continueAsNew<typeof subscriptionWorkflow>({ ...s });
  }
  return {
    status: s.status,
    cancellation: s.cancellation,
    invoicesIssued: s.invoicesIssued,
    lastInvoice: s.lastInvoice,
  };
}

function parseInstantOrReject(value: unknown, field: string): number {
  try {
    return parseInstantMs(value as string);
  } catch {
    return invalidRequest(`${field}: expected an ISO-8601 UTC instant like '2025-01-31T00:00:00.000Z'`);
  }
}

function declineOf(error: unknown, invoiceId: string): { declineCode: string; message: string } {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    if (cause.type === PAYMENT_DECLINED_ERROR_TYPE) {
      const details = cause.details?.[0] as PaymentDeclinedDetails | undefined;
      if (details !== undefined && details.invoiceId === invoiceId) {
        return { declineCode: details.declineCode, message: details.message };
      }
      return { declineCode: 'card_declined', message: cause.message };
    }
    // GatewayRequestError, PaymentMethodRejectedError: retrying the same request cannot help.
    return { declineCode: cause.type ?? 'payment_error', message: cause.message };
  }
  // Retries exhausted on an outage: counted as a failed attempt; the next one uses a new key after the
  // dunning delay, by when the provider's webhook has settled the earlier attempt if it succeeded.
  return { declineCode: 'gateway_unavailable', message: (error as Error).message };
}
