import type { Db } from 'mongodb';
import { COLLECTIONS } from './db';
import { TenantRepo } from './tenant-repo';
import { newId } from '../common/ids';
import { MachineInput, type Machine } from '../domain/machine';
import type { MachineStatus } from '../domain/statuses';
import type { MachineHold } from '../domain/machine-hold';

export const MACHINE_INPUT_KEYS = Object.keys(MachineInput.shape);

/** Machines: `_id` = machine id; read-side fields (ping_status, last_patching) are written by activities. */
export class MachineStore extends TenantRepo<Machine> {
  constructor(db: Db) {
    super(db, COLLECTIONS.machines);
  }

  /** For activities, which act on an ID they got from a workflow of the same customer. */
  async getById(id: string): Promise<Machine | null> {
    const doc = await this.coll.findOne({ _id: id });
    return doc ? this.toApi(doc) : null;
  }

  /** For activities given machine IDs by a workflow (IDs are unique across customers). */
  async getByIds(ids: readonly string[]): Promise<Machine[]> {
    if (ids.length === 0) return [];
    const docs = await this.coll.find({ _id: { $in: [...new Set(ids)] } }).toArray();
    return docs.map((d) => this.toApi(d));
  }

  async findBySsmId(customerId: string, ssmMachineId: string): Promise<Machine | null> {
    const doc = await this.coll.findOne({ customer_id: customerId, 'access.ssm_machine_id': ssmMachineId });
    return doc ? this.toApi(doc) : null;
  }

  async getMany(customerId: string, ids: readonly string[]): Promise<Machine[]> {
    if (ids.length === 0) return [];
    const docs = await this.coll.find({ customer_id: customerId, _id: { $in: [...new Set(ids)] } }).toArray();
    return docs.map((d) => this.toApi(d));
  }

  /**
   * A machine a dynamic plan found in SSM: the registered one with that SSM ID, or a new one from `input`.
   * A retried scan finds the machine it registered before.
   */
  async registerDiscoveredMachine(
    customerId: string,
    input: MachineInput,
    registeredBy: string,
  ): Promise<Machine> {
    const ssmId = input.access.ssm_machine_id;
    const known = await this.findBySsmId(customerId, ssmId);
    if (known) return known;
    return this.insert(customerId, newId('mch'), { ...input, registered_by: registeredBy });
  }

  /**
   * Each machine shows its last patching on its own record: event, status and when (seed 003's patch date):
   * the patch command's end by SSM's clock (`patched_at`) when it patched, else when the machine's run ended.
   */
  async recordLastPatching(
    eventId: string,
    results: readonly { machine_id: string; status: MachineStatus; patched_at?: string; ended_at?: string }[],
  ): Promise<void> {
    const ops = results.map((m) => {
      const at = m.patched_at ?? m.ended_at;
      return {
        updateOne: {
          filter: { _id: m.machine_id },
          update: { $set: { last_patching: { event_id: eventId, status: m.status, ...(at ? { at } : {}) } } },
        },
      };
    });
    // FerretDB 1.24 (SQLite) never answers a bulk of ≥ 100 plain updates (found by the benchmark): stay below.
    for (let i = 0; i < ops.length; i += 50)
      await this.coll.bulkWrite(ops.slice(i, i + 50), { ordered: false });
  }

  /** Puts the machine on hold (replacing a hold it has); null when there is no such machine. */
  async setHold(customerId: string, id: string, hold: MachineHold): Promise<Machine | null> {
    const r = await this.coll.updateOne({ _id: id, customer_id: customerId }, { $set: { hold } });
    if (r.matchedCount === 0) return null;
    return this.get(customerId, id);
  }

  /** Ends the machine's hold; the hold that was stored (expired or not), or undefined when it had none. */
  async clearHold(customerId: string, id: string): Promise<MachineHold | undefined> {
    const before = await this.coll.findOneAndUpdate(
      { _id: id, customer_id: customerId, hold: { $exists: true } },
      { $unset: { hold: '' } },
      { returnDocument: 'before' },
    );
    return (before?.hold as MachineHold | undefined) ?? undefined;
  }

  /**
   * The SSM ping of each machine (DescribeInstanceInformation). `onlyIfChanged` writes only where the stored
   * status differs, so a run that looks every machine up costs no write for the ones already right. The stored
   * status is read by `_id` and compared here: a filter on `_id` and `ping_status` together is a scan of the whole
   * collection on FerretDB/SQLite, which pushes down `_id` equality only — one per patch command, 0.7 s each at
   * 1,000 machines (issue 18 store trace). Two writers racing may both write; the last ping wins either way.
   */
  async recordPings(pings: readonly MachinePing[], opts: { onlyIfChanged?: boolean } = {}): Promise<void> {
    let todo = pings;
    if (opts.onlyIfChanged && pings.length) {
      const stored = new Map<string, unknown>();
      const docs =
        pings.length === 1
          ? [await this.coll.findOne({ _id: pings[0].machine_id }, { projection: { ping_status: 1 } })]
          : await this.coll
              .find({ _id: { $in: pings.map((p) => p.machine_id) } }, { projection: { ping_status: 1 } })
              .toArray();
      for (const d of docs) if (d) stored.set(d._id, d.ping_status);
      todo = pings.filter((p) => stored.get(p.machine_id) !== p.ping_status);
    }
    const ops = todo.map((p) => {
      const set = { ping_status: p.ping_status, pinged_at: p.pinged_at };
      const update =
        p.ping_error === undefined
          ? { $set: set, $unset: { ping_error: '' as const } }
          : { $set: { ...set, ping_error: p.ping_error } };
      return { updateOne: { filter: { _id: p.machine_id }, update } };
    });
    // Same bulk bound as recordLastPatching (FerretDB).
    for (let i = 0; i < ops.length; i += 50)
      await this.coll.bulkWrite(ops.slice(i, i + 50), { ordered: false });
  }
}

export interface MachinePing {
  machine_id: string;
  ping_status: string;
  ping_error?: string;
  pinged_at: string;
}
