import { Binary, type Collection, type Db } from 'mongodb';
import type { FileAnswer, ReportsPort } from './reports-port';
import { EventMachineRecord, EventRecord } from '../domain/event';
import { COLLECTIONS } from './db';
import type { EventDoc, EventMachineDoc } from './event-records';
import { getMachineLog, renderMachineLogText } from './logs';

/**
 * One PDF per event (`reports`, `_id` = event id), replaced each time the report is regenerated (event end,
 * manual status change, partial run). A document is limited to 16 MB; MAX_REPORT_BYTES keeps room for the
 * other fields. A report that large would need several thousand machines with long update lists; if that
 * ever happens, split `pdf` into chunk documents (GridFS is not available on FerretDB 1.x).
 */
export const MAX_REPORT_BYTES = 15 * 1024 * 1024;

export interface ReportDoc {
  _id: string;
  customer_id: string;
  pdf: Binary;
  bytes: number;
  run_no: number;
  generated_at: string;
}

export class ReportTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`report of ${bytes} bytes exceeds the ${MAX_REPORT_BYTES}-byte limit of the report store`);
    this.name = 'ReportTooLargeError';
  }
}

export class ReportStore {
  private readonly coll: Collection<ReportDoc>;

  constructor(private readonly db: Db) {
    this.coll = db.collection<ReportDoc>(COLLECTIONS.reports);
  }

  /** What the renderer needs for one event (see loadReportInput). */
  async loadInput(eventId: string): ReturnType<typeof loadReportInput> {
    return loadReportInput(this.db, eventId);
  }

  async save(r: {
    event_id: string;
    customer_id: string;
    run_no: number;
    generated_at: string;
    pdf: Buffer;
  }): Promise<void> {
    if (r.pdf.length > MAX_REPORT_BYTES) throw new ReportTooLargeError(r.pdf.length);
    await this.coll.replaceOne(
      { _id: r.event_id },
      {
        customer_id: r.customer_id,
        pdf: new Binary(r.pdf),
        bytes: r.pdf.length,
        run_no: r.run_no,
        generated_at: r.generated_at,
      },
      { upsert: true },
    );
  }

  async get(eventId: string, customerId?: string): Promise<ReportDoc | null> {
    return this.coll.findOne({ _id: eventId, ...(customerId ? { customer_id: customerId } : {}) });
  }
}

function binaryToBuffer(b: Binary | Buffer | Uint8Array): Buffer {
  if (b instanceof Binary) return Buffer.from(b.buffer.buffer, b.buffer.byteOffset, b.position);
  return Buffer.from(b);
}

/** The stored PDF of an event, or undefined when none was generated yet. */
export async function getEventReport(
  db: Db,
  eventId: string,
  customerId?: string,
): Promise<Buffer | undefined> {
  const doc = await new ReportStore(db).get(eventId, customerId);
  return doc ? binaryToBuffer(doc.pdf) : undefined;
}

/** What the renderer needs, read from the event store (events / event_machines / customers / pipelines). */
export async function loadReportInput(
  db: Db,
  eventId: string,
): Promise<
  | {
      event: EventRecord;
      machines: EventMachineRecord[];
      customer_name?: string;
      pipeline?: { name: string; step?: number };
    }
  | undefined
> {
  const doc = await db.collection<EventDoc>(COLLECTIONS.events).findOne({ _id: eventId });
  if (!doc) return undefined;
  const { _id, ...rest } = doc;
  const event = EventRecord.parse({ ...rest, id: _id });
  const machineDocs = await db
    .collection<EventMachineDoc>(COLLECTIONS.eventMachines)
    .find({ event_id: eventId })
    .sort({ order: 1, name: 1, machine_id: 1 })
    .toArray();
  const machines = machineDocs.map(({ _id: mid, ...m }) => {
    void mid;
    return EventMachineRecord.parse(m);
  });
  const [customer, pipeline] = await Promise.all([
    db.collection<{ _id: string; name?: string }>(COLLECTIONS.customers).findOne({ _id: event.customer_id }),
    event.pipeline_id
      ? db
          .collection<{ _id: string; name?: string }>(COLLECTIONS.pipelines)
          .findOne({ _id: event.pipeline_id })
      : null,
  ]);
  return {
    event,
    machines,
    ...(customer?.name ? { customer_name: customer.name } : {}),
    ...(event.pipeline_id
      ? { pipeline: { name: pipeline?.name ?? event.pipeline_id, step: event.step } }
      : {}),
  };
}

/** ReportsPort for the API: `createApp({ ..., reports: createReportsPort(db) })`. */
export function createReportsPort(db: Db): ReportsPort {
  return {
    async eventReport(customerId: string, eventId: string): Promise<FileAnswer | null> {
      const pdf = await getEventReport(db, eventId, customerId);
      return pdf
        ? { contentType: 'application/pdf', body: pdf, filename: `patchwave-report-${eventId}.pdf` }
        : null;
    },
    async machineLog(
      customerId: string,
      eventId: string,
      machineId: string,
      runNo?: number,
    ): Promise<FileAnswer | null> {
      const log = await getMachineLog(db, eventId, machineId, { customerId, runNo, lastRunOnly: true });
      if (!log) return null;
      return {
        contentType: 'text/plain; charset=utf-8',
        body: renderMachineLogText(log),
        filename: `patchwave-log-${eventId}-${machineId}.txt`,
      };
    },
  };
}
