import { temporal } from '@temporalio/proto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type History = temporal.api.history.v1.IHistory;
const { History } = temporal.api.history.v1;

export const HISTORIES_DIR = path.join(__dirname, '..', 'workflows', 'histories');

/** Plain JSON (int64 as strings, enums by name, bytes as base64) that round-trips through fromObject. */
export function writeHistory(name: string, history: History): void {
  const plain = History.toObject(History.fromObject(history), {
    longs: String,
    enums: String,
    bytes: String,
  });
  writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), `${JSON.stringify(plain, null, 1)}\n`);
}

export function readHistories(): Array<{ workflowId: string; history: temporal.api.history.v1.History }> {
  return readdirSync(HISTORIES_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({
      workflowId: file.replace(/\.json$/, ''),
      history: History.fromObject(JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as object),
    }));
}
