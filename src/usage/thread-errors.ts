// An error thrown on a worker thread (compaction, ingest), as it crosses back to the host: structured
// clone keeps neither its class nor its extra fields, so it travels as plain data and the host
// rethrows an Error of the same name (the API logs a QuarantinedDeltasError at error level by name).

import { DatabaseError } from 'pg';

export interface ThreadError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** A Postgres SQLSTATE, when the error is the database's. */
  readonly code?: string;
}

export function threadErrorOf(error: unknown): ThreadError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  return {
    name: error.name,
    message: error.message,
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(error instanceof DatabaseError && error.code !== undefined ? { code: error.code } : {}),
  };
}

export function errorOfThread(thrown: ThreadError): Error {
  const error = new Error(thrown.message) as Error & { code?: string };
  error.name = thrown.name;
  if (thrown.stack !== undefined) error.stack = thrown.stack;
  if (thrown.code !== undefined) error.code = thrown.code;
  return error;
}
