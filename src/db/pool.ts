import { Pool, types, type PoolConfig } from 'pg';

// int8 columns hold minor-unit amounts. pg returns them as strings by default; we return numbers,
// and refuse any value that a JS number cannot represent exactly rather than round it silently.
types.setTypeParser(types.builtins.INT8, (text: string): number => {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`int8 value ${text} exceeds Number.MAX_SAFE_INTEGER`);
  }
  return value;
});

export function createPool(
  connectionString: string,
  options: Omit<PoolConfig, 'connectionString'> = {},
): Pool {
  return new Pool({ connectionString, max: 20, idleTimeoutMillis: 30_000, ...options });
}
