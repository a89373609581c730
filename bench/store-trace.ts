/**
 * Where a worker's store time goes: every command the driver sends, grouped by command, collection and the
 * shape of its filter (field names only), with count and summed round-trip time. Turned on for a benchmark's
 * worker by BENCH_STORE_TRACE=<file>; the summary is written there when the worker stops. A filter that is not
 * on `_id` is a full collection scan on FerretDB/SQLite, so a shape that grows with the event shows up here.
 */
import fs from 'node:fs';
import type { MongoClient } from 'mongodb';

export interface StoreTraceRow {
  op: string;
  count: number;
  total_ms: number;
  mean_ms: number;
  max_ms: number;
}

type Cmd = Record<string, unknown>;

const keysOf = (o: unknown): string =>
  o && typeof o === 'object'
    ? Object.keys(o as object)
        .sort()
        .join(',')
    : '';

/** "find events {_id}" / "update event_machines {_id}" / "aggregate timeline [$match{event_id},$sort]". */
export function commandShape(name: string, cmd: Cmd): string {
  const coll = String(cmd[name] ?? '');
  switch (name) {
    case 'find':
    case 'count':
    case 'distinct':
      return `${name} ${coll} {${keysOf(cmd.filter ?? cmd.query)}}${cmd.sort ? ` sort{${keysOf(cmd.sort)}}` : ''}`;
    case 'update':
    case 'delete': {
      const list = (cmd[name === 'update' ? 'updates' : 'deletes'] as Cmd[] | undefined) ?? [];
      return `${name} ${coll} {${keysOf(list[0]?.q)}}${list.length > 1 ? ` ×${list.length}` : ''}`;
    }
    case 'findAndModify':
      return `findAndModify ${coll} {${keysOf(cmd.query)}}`;
    case 'insert':
      return `insert ${coll}`;
    case 'aggregate': {
      const stages = ((cmd.pipeline as Cmd[] | undefined) ?? []).map((st) => {
        const k = Object.keys(st)[0];
        return k === '$match' ? `$match{${keysOf(st[k])}}` : k;
      });
      return `aggregate ${coll} [${stages.join(',')}]`;
    }
    default:
      return name;
  }
}

export function traceStore(client: MongoClient): () => StoreTraceRow[] {
  const started = new Map<number, string>();
  const rows = new Map<string, { count: number; total: number; max: number }>();
  client.on('commandStarted', (e) => {
    started.set(e.requestId, commandShape(e.commandName, e.command as Cmd));
  });
  const done = (e: { requestId: number; duration: number }) => {
    const shape = started.get(e.requestId);
    if (!shape) return;
    started.delete(e.requestId);
    const r = rows.get(shape) ?? { count: 0, total: 0, max: 0 };
    r.count++;
    r.total += e.duration;
    r.max = Math.max(r.max, e.duration);
    rows.set(shape, r);
  };
  client.on('commandSucceeded', done);
  client.on('commandFailed', done);
  return () =>
    [...rows.entries()]
      .map(([op, r]) => ({
        op,
        count: r.count,
        total_ms: Math.round(r.total),
        mean_ms: Math.round((r.total / r.count) * 10) / 10,
        max_ms: Math.round(r.max),
      }))
      .sort((a, b) => b.total_ms - a.total_ms);
}

export function writeStoreTrace(file: string, rows: StoreTraceRow[]): void {
  fs.writeFileSync(file, JSON.stringify(rows, null, 2));
}

/** Several workers' traces as one, costliest shape first. */
export function mergeStoreTraces(traces: StoreTraceRow[][]): StoreTraceRow[] {
  const by = new Map<string, StoreTraceRow>();
  for (const row of traces.flat()) {
    const r = by.get(row.op);
    if (!r) {
      by.set(row.op, { ...row });
      continue;
    }
    r.count += row.count;
    r.total_ms += row.total_ms;
    r.max_ms = Math.max(r.max_ms, row.max_ms);
    r.mean_ms = Math.round((r.total_ms / r.count) * 10) / 10;
  }
  return [...by.values()].sort((a, b) => b.total_ms - a.total_ms);
}
