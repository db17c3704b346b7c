// Per-tenant ingestion limit: a token bucket in events (not requests), kept in Redis so that every API
// process draws from the same bucket; a limit enforced per process would multiply with the number of
// replicas behind the load balancer. It is one EVALSHA per request (one per 1,000 events in a typical
// batch), on Redis's own clock (TIME), so skewed API hosts cannot mint tokens.
// If Redis does not answer, ingestion is allowed: the limit protects capacity, while Postgres is what
// makes an event count, and refusing durable writes because a cache is down would lose usage.

import type { Redis, Result } from 'ioredis';

export interface IngestLimit {
  readonly eventsPerSecond: number;
  /** Largest burst; must allow the largest batch (10,000 events) or such a batch could never pass. */
  readonly burstEvents: number;
}

export type RateDecision =
  { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

// KEYS[1] bucket. ARGV: rate per second, burst, cost. Returns {1, 0} or {0, retryAfterMs}.
const TAKE_SCRIPT = `
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
if tokens < cost then
  return {0, math.ceil((cost - tokens) * 1000 / rate)}
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - cost), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {1, 0}`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    usageTakeTokens(
      key: string,
      rate: number,
      burst: number,
      cost: number,
    ): Result<[number, number], Context>;
  }
}

export class IngestRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly limitFor: (tenantId: string) => IngestLimit,
    private readonly onRedisError: (error: unknown) => void,
  ) {
    redis.defineCommand('usageTakeTokens', { numberOfKeys: 1, lua: TAKE_SCRIPT });
  }

  async take(tenantId: string, events: number): Promise<RateDecision> {
    const limit = this.limitFor(tenantId);
    const cost = Math.min(Math.max(events, 1), limit.burstEvents);
    try {
      const [allowed, retryAfterMs] = await this.redis.usageTakeTokens(
        `usage:rate:${tenantId}`,
        limit.eventsPerSecond,
        limit.burstEvents,
        cost,
      );
      if (allowed === 1) return { allowed: true };
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
    } catch (error) {
      this.onRedisError(error);
      return { allowed: true };
    }
  }
}
