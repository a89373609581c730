/**
 * Workflow histories ⇄ Temporal's JSON form (as `temporal workflow show --output json` writes it).
 *
 * Why not `historyToJSON` / `historyFromJSON` from @temporalio/common: they take `protobufjs/ext/protojson`
 * from common's own copy of protobufjs, while the History type comes from @temporalio/proto's copy. When npm
 * installs several copies (here the root holds protobufjs 7 for @grpc/proto-loader, so each Temporal package
 * gets its own protobufjs 8), the two never match and both throw "type must be a Type" — and so does
 * `Worker.runReplayHistory` given a JSON history. Using the protojson of the copy the types belong to works
 * with any install layout.
 */
import { createRequire } from 'node:module';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

export type History = proto.temporal.api.history.v1.IHistory;

type ProtoJson = {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
};
const protojson = createRequire(require.resolve('@temporalio/proto'))(
  'protobufjs/ext/protojson',
) as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType(
  'temporal.api.history.v1.History',
);

/** A fetched History → its JSON form (plain object). */
export function historyToJsonObject(history: History): unknown {
  return protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history));
}

/** The JSON form → a History that `Worker.runReplayHistory` takes as it is. */
export function historyFromJsonObject(json: unknown): History {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { events?: unknown }).events))
    throw new TypeError('not a history: expected an object with an array of events');
  // Histories written by a newer server or SDK may carry fields this SDK does not know.
  const h = protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
  if (!h) throw new TypeError('not a history');
  return h as History;
}
