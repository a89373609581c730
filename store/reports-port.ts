/**
 * What the API needs from the report/log component; implemented by store/reports.ts beside it. Answers `null`
 * when the event or machine has no report/log yet. The API has already checked the tenant and permission.
 */
export interface FileAnswer {
  contentType: string;
  body: Buffer | string;
  /** Suggested download name (Content-Disposition). */
  filename?: string;
}

export interface ReportsPort {
  /** The event's PDF report. */
  eventReport(customerId: string, eventId: string): Promise<FileAnswer | null>;
  /** One machine's patch log in an event (the last run's, unless `runNo` is given). */
  machineLog(
    customerId: string,
    eventId: string,
    machineId: string,
    runNo?: number,
  ): Promise<FileAnswer | null>;
}
