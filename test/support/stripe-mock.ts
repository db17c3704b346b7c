import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Stripe's official API mock (stripe-mock v0.197.0, OpenAPI spec embedded), built from source by
 * scripts/bootstrap/stripe-mock.sh and never downloaded. Stateless: it validates each request against
 * the spec and answers with fixture objects, reflecting ids and some parameters.
 */
export interface StripeMock {
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export function stripeMockPath(): string {
  const cache = process.env.LEDGERLINE_CACHE ?? path.join(os.homedir(), '.cache', 'ledgerline');
  return process.env.STRIPE_MOCK_PATH ?? path.join(cache, 'bin', 'stripe-mock');
}

/**
 * Starts stripe-mock on a port the kernel picks (no probe-then-bind race) and resolves once it accepts
 * connections. HTTPS is bound too, to another kernel-picked loopback port: v0.197.0 still opens its
 * default HTTPS port 12112 on every interface when only -http-addr is given, so two test processes
 * would collide on it.
 */
export async function startStripeMock(): Promise<StripeMock> {
  const binary = stripeMockPath();
  if (!existsSync(binary)) {
    throw new Error(
      `stripe-mock not found at ${binary}: run \`bash scripts/bootstrap/stripe-mock.sh\` ` +
        '(or set STRIPE_MOCK_PATH to an existing binary)',
    );
  }
  const child = spawn(binary, ['-http-addr', '127.0.0.1:0', '-https-addr', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`stripe-mock did not listen within ${START_TIMEOUT_MS} ms:\n${output}`)),
        START_TIMEOUT_MS,
      );
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        const match = /Listening for HTTP at address: 127\.0\.0\.1:(\d+)/.exec(output);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`stripe-mock exited with code ${String(code)} before listening:\n${output}`));
      });
    });
    await waitForPort('127.0.0.1', port, START_TIMEOUT_MS);
    return {
      host: '127.0.0.1',
      port,
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const stopped = await Promise.race([
          exited.then(() => true),
          new Promise<false>((resolve) => setTimeout(() => resolve(false), STOP_TIMEOUT_MS).unref()),
        ]);
        if (!stopped) {
          child.kill('SIGKILL');
          await exited;
        }
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return;
    if (Date.now() > deadline) throw new Error(`stripe-mock is not accepting connections on ${host}:${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
