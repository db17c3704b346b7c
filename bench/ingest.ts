/**
 * `npm run bench:ingest`: usage events through the real HTTP endpoint over loopback, at batch sizes
 * 1, 100 and 1,000, each for BENCH_SECONDS (default 60). The API runs in this process; the load
 * generator is a child process (so the two do not share one event loop). Prints, per batch size:
 * sustained durable (committed, deduplicated) events/s, p50/p99 acknowledgement latency, and p99
 * event-to-aggregate lag (send → visible in the Redis aggregate, sampled with a probe event). Then the
 * machine's raw limits in the same run: pipelined redis-benchmark and Postgres COPY rows/s.
 *
 * Customers are drawn Zipf-like (s = 1): a few heavy customers send most events, as in real tenants.
 * Every event id is unique except 1 % (every 100th event of a worker) that repeat an id the worker
 * sent and had acknowledged before (a client retrying); at the end the durable count of the run's
 * keys must equal the unique ids sent, and the count meter's rollups must equal it too.
 * CPU time per event is reported per process (API, load generator, Postgres backends + WAL writer,
 * checkpointer, background writer) with the load average, so a figure from a shared machine can be
 * read for what it is.
 *
 * Env: BENCH_SECONDS, BENCH_BATCHES ("1,100,1000"), BENCH_CUSTOMERS (1000), BENCH_POOL (8),
 * BENCH_RAW=0 to skip the raw limits while iterating, BENCH_COMPACTION_MS (the usage service's default)
 * to try another rollup compaction interval.
 */
import { startBenchApi } from './support/bench-api';
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { newId } from '../src/db/ids';
import { createPool } from '../src/db/pool';
import { createTenantWithApiKey } from '../src/db/tenants';
import { withTenant } from '../src/db/with-tenant';
import { ensureEventPartitions } from '../src/usage/partitions';
import { hourKey } from '../src/usage/redis-aggregates';
import { compactPendingRollups } from '../src/usage/rollup-compactor';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const BATCHES = (process.env.BENCH_BATCHES ?? '1,100,1000').split(',').map(Number);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 1000);
const POOL_SIZE = Number(process.env.BENCH_POOL ?? 8);
const INGEST_THREADS = Number(process.env.BENCH_INGEST_THREADS ?? 2);
const DATABASE_URL =
  process.env.DATABASE_URL ?? 'postgres://ledgerline_app:ledgerline_app@127.0.0.1:5432/ledgerline_test';
const OWNER_URL =
  process.env.MIGRATION_DATABASE_URL ??
  'postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:5432/ledgerline_test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/13';
/** In-flight requests per batch size: enough to keep the second core and group commit busy. */
const CONCURRENCY: Record<number, number> = { 1: 64, 100: 24, 1000: 8 };

interface LoadConfig {
  readonly port: number;
  readonly apiKey: string;
  readonly tenantId: string;
  readonly customers: string[];
  readonly probeCustomer: string;
  readonly countMeter: string;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly runId: string;
  readonly redisUrl: string;
}

interface LoadResult {
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly errors: number;
  readonly requests: number;
  readonly elapsedS: number;
  readonly ackMs: number[];
  readonly lagMs: number[];
  /** Distinct ids sent (what must be durable), and repeats of acknowledged ids (must be duplicates). */
  readonly uniqueSent: number;
  readonly repeatsSent: number;
  readonly cpuUs: number;
}

const COUNTS = /"accepted_count":(\d+),"duplicate_count":(\d+),"rejected_count":(\d+)/;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

// ---------------------------------------------------------------- load generator (child process)

async function generateLoad(config: LoadConfig): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: config.concurrency });
  const redis = new Redis(config.redisUrl);
  const ackMs: number[] = [];
  const lagMs: number[] = [];
  let accepted = 0;
  let duplicates = 0;
  let rejected = 0;
  let errors = 0;
  let requests = 0;
  let sequence = 0;
  // The probe: one event at a time for a customer nobody else uses, counted by a count meter.
  let probeWanted = true;
  let probesSent = new Map<string, number>();
  const models = ['small', 'large'];
  const regions = ['eu', 'us', 'ap'];

  // Zipf-like customer popularity: the k-th customer is drawn with weight 1 / k.
  const cumulative: number[] = [];
  let total = 0;
  for (let k = 1; k <= config.customers.length; k += 1) cumulative.push((total += 1 / k));
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * total;
  const pickCustomer = (): string => {
    const r = random();
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] ?? 0) < r) lo = mid + 1;
      else hi = mid;
    }
    return config.customers[lo] ?? '';
  };
  let uniqueSent = 0;
  let repeatsSent = 0;
  let eventsOfWorker = 0;

  // Request bodies from templates, so that the generator does not compete with the API for the cores:
  // each template is a whole batch serialized once (Zipf-drawn customers, token counts, model and
  // region), with every id and timestamp a fixed-width slot. A request copies a template and writes
  // into the slots the batch's ids (the run id and a 12-digit sequence number, or an acknowledged id
  // again for a repeat) and the send instant. The probe templates carry the probe customer first.
  const TIME_WIDTH = new Date().toISOString().length;
  const ID_DIGITS = 12;
  const idPrefix = `${config.runId}-`;
  interface Template {
    readonly bytes: Buffer;
    /** Where each event's sequence digits and timestamp start. */
    readonly digitsAt: Int32Array;
    readonly timeAt: Int32Array;
  }
  const template = (probe: boolean, variant: number): Template => {
    let text = '{"events":[';
    const digitsAt = new Int32Array(config.batchSize);
    const timeAt = new Int32Array(config.batchSize);
    for (let i = 0; i < config.batchSize; i += 1) {
      const customer = probe && i === 0 ? config.probeCustomer : pickCustomer();
      text += `${i === 0 ? '' : ','}{"id":"${idPrefix}`;
      digitsAt[i] = text.length;
      text += `${'0'.repeat(ID_DIGITS)}","customer":"${customer}","event_name":"api_call","timestamp":"`;
      timeAt[i] = text.length;
      text +=
        `${'0'.repeat(TIME_WIDTH)}","properties":{"tokens":${((variant * 7919 + i) % 977) + 1},` +
        `"model":"${models[i % 2]}","region":"${regions[i % 3]}"}}`;
    }
    // Customer ids and everything else are ASCII: string offsets are byte offsets.
    return { bytes: Buffer.from(`${text}]}`, 'latin1'), digitsAt, timeAt };
  };
  const templates = Array.from({ length: 32 }, (_, variant) => template(false, variant));
  const probeTemplates = Array.from({ length: 4 }, (_, variant) => template(true, variant));
  let nextTemplate = 0;
  const writeDigits = (bytes: Buffer, at: number, value: number) => {
    let rest = value;
    for (let d = at + ID_DIGITS - 1; d >= at; d -= 1) {
      bytes[d] = 48 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
  };

  const body = (
    acknowledged: Float64Array,
    acknowledgedCount: number,
    sent: Float64Array,
  ): { bytes: Buffer; probe?: { sentAt: number; key: string } } => {
    const timestamp = new Date().toISOString();
    const usesProbe = probeWanted;
    const chosen = usesProbe
      ? (probeTemplates[nextTemplate % probeTemplates.length] as Template)
      : (templates[nextTemplate % templates.length] as Template);
    nextTemplate += 1;
    const bytes = Buffer.allocUnsafe(chosen.bytes.length);
    chosen.bytes.copy(bytes);
    let probe: { sentAt: number; key: string } | undefined;
    for (let i = 0; i < config.batchSize; i += 1) {
      eventsOfWorker += 1;
      // 1 % of events repeat an id this worker sent in an acknowledged batch: a client retrying.
      // The probe event (the first of a probe template) is always new.
      const repeat = acknowledgedCount > 0 && eventsOfWorker % 100 === 0 && !(usesProbe && i === 0);
      let seq: number;
      if (repeat) {
        seq = acknowledged[i % acknowledgedCount] ?? 0;
        repeatsSent += 1;
      } else {
        seq = sequence += 1;
        uniqueSent += 1;
      }
      sent[i] = seq;
      writeDigits(bytes, chosen.digitsAt[i] ?? 0, seq);
      bytes.write(timestamp, chosen.timeAt[i] ?? 0, TIME_WIDTH, 'latin1');
    }
    if (usesProbe) {
      probeWanted = false;
      const key = hourKey(
        config.tenantId,
        config.countMeter,
        config.probeCustomer,
        Math.floor(Date.parse(timestamp) / 3_600_000) * 3_600_000,
      );
      probesSent.set(key, (probesSent.get(key) ?? 0) + 1);
      probe = { sentAt: performance.now(), key };
    }
    return { bytes, probe };
  };

  const post = (payload: Buffer) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: config.port,
          method: 'POST',
          path: '/v1/events/batch',
          agent,
          headers: {
            authorization: `Bearer ${config.apiKey}`,
            'content-type': 'application/json',
            'content-length': payload.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  const probeCount = async (key: string): Promise<number> => {
    const hash = await redis.hgetall(key);
    let count = 0;
    for (const field in hash)
      if (field.startsWith('s\x1f')) count += Number((hash[field] ?? '').split('|')[1] ?? 0);
    return count;
  };
  // The watchers are awaited before Redis is disconnected (a pending HGETALL would otherwise reject
  // unhandled and kill the load generator).
  let loadDone = false;
  const watchers = new Set<Promise<void>>();
  const watchProbe = async (probe: { sentAt: number; key: string }) => {
    const expected = probesSent.get(probe.key) ?? 1;
    try {
      for (;;) {
        if (loadDone) return;
        if ((await probeCount(probe.key)) >= expected) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } catch {
      return;
    }
    lagMs.push(performance.now() - probe.sentAt);
    setTimeout(() => (probeWanted = true), 50);
  };

  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const deadline = started + config.seconds * 1000;
  await Promise.all(
    Array.from({ length: config.concurrency }, async () => {
      // The sequence numbers of the worker's last acknowledged batch, and of the one in flight.
      let acknowledged = new Float64Array(config.batchSize);
      let acknowledgedCount = 0;
      let sent = new Float64Array(config.batchSize);
      while (performance.now() < deadline) {
        const { bytes, probe } = body(acknowledged, acknowledgedCount, sent);
        const t0 = performance.now();
        if (probe) {
          const watcher = watchProbe(probe);
          watchers.add(watcher);
          void watcher.finally(() => watchers.delete(watcher));
        }
        try {
          const res = await post(bytes);
          ackMs.push(performance.now() - t0);
          requests += 1;
          if (res.status !== 200) {
            errors += 1;
            continue;
          }
          // The counts lead the body: read them without parsing the index arrays behind them.
          const counts = COUNTS.exec(res.body);
          if (counts === null) {
            errors += 1;
            continue;
          }
          accepted += Number(counts[1]);
          duplicates += Number(counts[2]);
          rejected += Number(counts[3]);
          [acknowledged, sent] = [sent, acknowledged];
          acknowledgedCount = config.batchSize;
        } catch {
          errors += 1;
        }
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  // Probes in flight still count (compaction goes on); only one not visible within 5 s is abandoned.
  await Promise.race([Promise.all([...watchers]), new Promise((resolve) => setTimeout(resolve, 5_000))]);
  loadDone = true;
  await Promise.all([...watchers]);
  probesSent = new Map();
  agent.destroy();
  redis.disconnect();
  return {
    accepted,
    duplicates,
    rejected,
    errors,
    requests,
    elapsedS,
    ackMs,
    lagMs,
    uniqueSent,
    repeatsSent,
    cpuUs: cpu.user + cpu.system,
  };
}

// ---------------------------------------------------------------- raw limits of the machine

async function redisRawLimit(): Promise<string> {
  const { stdout } = await run('redis-benchmark', [
    '-h',
    '127.0.0.1',
    '-P',
    '16',
    '-q',
    '-t',
    'set,incr',
    '-n',
    '2000000',
  ]);
  return stdout
    .split(/\r|\n/)
    .filter((line) => /requests per second/.test(line))
    .map((line) => line.trim().replace(/\s+/g, ' '))
    .join('; ');
}

async function postgresCopyRowsPerSecond(): Promise<number> {
  const rows = 1_000_000;
  const file = path.join(os.tmpdir(), `ledgerline-copy-${process.pid}.csv`);
  const lines: string[] = [];
  const at = new Date().toISOString();
  for (let i = 0; i < rows; i += 1) {
    lines.push(
      `ten_copybench,copy-${i},cus_${i % 100},api_call,${at},${at},"{""tokens"": ${i % 977}, ""model"": ""small""}"`,
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  const owner = createPool(OWNER_URL, { max: 1 });
  try {
    // A plain WAL-logged heap with one row per event (the columns of the usage_events view, without
    // its segment id): the raw limit of writing events row by row, no index.
    await owner.query(
      `DROP TABLE IF EXISTS bench_copy_events;
       CREATE TABLE bench_copy_events (tenant_id text, event_id text, customer_id text, event_name text,
         occurred_at timestamptz, ingested_at timestamptz, properties json)`,
    );
    const url = new URL(OWNER_URL);
    const t0 = performance.now();
    await run(
      'psql',
      [
        '-X',
        '-q',
        '-h',
        url.hostname,
        '-U',
        url.username,
        '-d',
        url.pathname.slice(1),
        '-c',
        `\\copy bench_copy_events FROM '${file}' CSV`,
      ],
      {
        env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) },
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    return rows / seconds;
  } finally {
    await owner.query('DROP TABLE IF EXISTS bench_copy_events');
    await owner.end();
    unlinkSync(file);
  }
}

// ---------------------------------------------------------------- CPU accounting

const CLOCK_TICKS_PER_SECOND = 100;

/** user + system CPU of a process in µs, from /proc (0 once it has exited). */
function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Postgres processes that work for this benchmark: backends on its database and the WAL writers. */
async function postgresPids(pool: ReturnType<typeof createPool>): Promise<number[]> {
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
        OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`,
  );
  return rows.map((row) => row.pid);
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { busy: total - idle, total };
}

const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

// ---------------------------------------------------------------- API under test (this process)

async function main(): Promise<void> {
  const pool = createPool(DATABASE_URL, { max: POOL_SIZE });
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  await ensureEventPartitions(pool, Date.now());
  const { tenant, apiKey } = await createTenantWithApiKey(pool, { name: 'bench-ingest', mode: 'test' });
  const customers = Array.from({ length: CUSTOMERS }, () => newId('customer'));
  // One probe customer per batch size, so each run's probe count starts from zero.
  const probeCustomers = BATCHES.map(() => newId('customer'));
  await withTenant(pool, tenant.id, (db) =>
    db.query('INSERT INTO customers (id, tenant_id) SELECT unnest($1::text[]), $2', [
      [...customers, ...probeCustomers],
      tenant.id,
    ]),
  );
  const compactionMs = process.env.BENCH_COMPACTION_MS;
  const api = await startBenchApi(
    pool,
    redis,
    {
      ...(compactionMs === undefined ? {} : { compactionIntervalMs: Number(compactionMs) }),
      // As the API server runs by default (INGEST_THREADS=2); BENCH_INGEST_THREADS=0 ingests on the
      // event loop.
      ...(INGEST_THREADS === 0
        ? {}
        : {
            ingestThreads: {
              count: INGEST_THREADS,
              databaseUrl: DATABASE_URL,
              poolSize: Number(process.env.BENCH_THREAD_POOL ?? 4),
            },
          }),
    },
    process.env.BENCH_COMPACTION_THREAD === '0'
      ? undefined
      : { databaseUrl: DATABASE_URL, redisUrl: REDIS_URL },
  );
  const { port } = api;
  const meter = async (body: object) => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/meters`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return ((await res.json()) as { id: string }).id;
  };
  const countMeter = await meter({ name: 'API calls', event_name: 'api_call', aggregation: 'count' });
  await meter({
    name: 'Tokens',
    event_name: 'api_call',
    aggregation: 'sum',
    value_property: 'tokens',
    group_by: ['model'],
  });

  console.log(
    `ingest: ${CUSTOMERS} customers, 2 meters (count; sum of tokens by model), 1 % repeated ids, ` +
      `${SECONDS} s per batch size, API pool ${POOL_SIZE} connections, ` +
      `${INGEST_THREADS === 0 ? 'no ingest threads' : `${INGEST_THREADS} ingest threads`}, load generator in a child process`,
  );
  let countedSoFar = 0;
  let failures = 0;
  for (const [run, batchSize] of BATCHES.entries()) {
    const probeCustomer = probeCustomers[run] ?? '';
    const config: LoadConfig = {
      port,
      apiKey: apiKey.secret,
      tenantId: tenant.id,
      customers,
      probeCustomer,
      countMeter,
      batchSize,
      concurrency: Number(process.env.BENCH_CONCURRENCY ?? CONCURRENCY[batchSize] ?? 8),
      seconds: SECONDS,
      runId: `${Date.now()}-${batchSize}`,
      redisUrl: REDIS_URL,
    };
    const loadBefore = loadAverage();
    const pgBefore = new Map((await postgresPids(pool)).map((pid) => [pid, processCpuUs(pid)]));
    const machineBefore = machineJiffies();
    const apiBefore = process.cpuUsage();
    const child: ChildProcess = fork(__filename, ['load'], { stdio: 'inherit' });
    const result = await new Promise<LoadResult>((resolve, reject) => {
      child.once('message', (message) => resolve(message as LoadResult));
      child.once('error', reject);
      child.send(config);
    });
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
    const apiCpu = process.cpuUsage(apiBefore);
    const machineAfter = machineJiffies();
    let pgCpuUs = 0;
    for (const pid of await postgresPids(pool)) pgCpuUs += processCpuUs(pid) - (pgBefore.get(pid) ?? 0);
    const loadAfter = loadAverage();
    const ack = [...result.ackMs].sort((a, b) => a - b);
    const lag = [...result.lagMs].sort((a, b) => a - b);
    const perEvent = (us: number) => (result.accepted > 0 ? us / result.accepted : Number.NaN);
    const apiUs = perEvent(apiCpu.user + apiCpu.system);
    const loadUs = perEvent(result.cpuUs);
    const pgUs = perEvent(pgCpuUs);
    const machineBusy =
      (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total);
    const oursCores = (result.accepted * (apiUs + loadUs + pgUs)) / 1e6 / result.elapsedS;
    // Verification: exactly the unique ids of this run are durable, and the count meter agrees.
    // The count meter is read from rollups after a final compaction (the pending deltas folded in the
    // same transaction), so it must equal the durable events exactly.
    const durable = await withTenant(pool, tenant.id, async (db) => {
      await compactPendingRollups(db, tenant.id);
      const prefix = config.runId;
      const keys = await db.query<{ n: number }>(
        `SELECT count(*)::bigint AS n FROM usage_event_keys WHERE event_id COLLATE "C" >= $1 AND event_id COLLATE "C" < $2`,
        [`${prefix}-`, `${prefix}.`],
      );
      const counted = await db.query<{ n: number | null }>(
        'SELECT sum(event_count)::bigint AS n FROM usage_rollups WHERE meter_id = $1',
        [countMeter],
      );
      return { keys: Number(keys.rows[0]?.n ?? 0), counted: Number(counted.rows[0]?.n ?? 0) };
    });
    countedSoFar += result.accepted;
    const exact =
      durable.keys === result.uniqueSent &&
      result.accepted === result.uniqueSent &&
      result.duplicates === result.repeatsSent &&
      durable.counted === countedSoFar; // probes are ordinary unique events of the run
    if (!exact) failures += 1;
    console.log(
      `ingest batch ${String(batchSize).padStart(4)}: ${(result.accepted / result.elapsedS).toFixed(0)} durable events/s ` +
        `(${result.accepted} accepted, ${result.duplicates} duplicates, ${result.rejected} rejected, ${result.errors} errors, ` +
        `${(result.requests / result.elapsedS).toFixed(0)} req/s, concurrency ${config.concurrency}, ${result.elapsedS.toFixed(1)} s), ` +
        `ack p50 ${percentile(ack, 50).toFixed(1)} ms p99 ${percentile(ack, 99).toFixed(1)} ms, ` +
        `aggregate lag p50 ${percentile(lag, 50).toFixed(1)} ms p99 ${percentile(lag, 99).toFixed(1)} ms (${lag.length} probes)\n` +
        `    verify: ${result.uniqueSent} unique ids sent, ${durable.keys} durable, ${result.repeatsSent} repeats sent, ` +
        `${result.duplicates} reported duplicate, count meter ${durable.counted}: ${exact ? 'exact' : 'MISMATCH'}\n` +
        `    CPU per durable event: API ${apiUs.toFixed(1)} µs, load generator ${loadUs.toFixed(1)} µs, Postgres ${pgUs.toFixed(1)} µs; ` +
        `this run used ${oursCores.toFixed(2)} of ${os.cpus().length} cores, machine busy ${(machineBusy * 100).toFixed(0)} %, ` +
        `load average ${loadBefore} → ${loadAfter}; API peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB ` +
        `(every thread; since the API started)`,
    );
  }
  await api.close();
  await pool.end();
  redis.disconnect();
  if (failures > 0) process.exitCode = 1;
  if (process.env.BENCH_RAW === '0') return;
  console.log(`raw redis-benchmark -P 16: ${await redisRawLimit()}`);
  console.log(
    `raw Postgres COPY into a usage_events-shaped table: ${(await postgresCopyRowsPerSecond()).toFixed(0)} rows/s`,
  );
}

if (process.argv[2] === 'load') {
  process.once('message', (config: LoadConfig) => {
    generateLoad(config)
      .then((result) => process.send?.(result, () => process.exit(0)))
      .catch((error: unknown) => {
        console.error(error);
        process.exit(1);
      });
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
