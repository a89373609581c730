import type { EventStatus } from './types';

/** The seed's UI labels for event statuses (NEW is shown as "Upcoming"). */
export const EVENT_LABEL: Record<EventStatus, string> = {
  NEW: 'Upcoming',
  NOT_APPROVED: 'Not approved',
  APPROVED: 'Approved',
  IN_PROGRESS: 'In progress',
  HALTED: 'Halted',
  DONE: 'Success',
  DONE_MANUAL: 'Success manual',
  DONE_PARTIAL: 'Partial success',
  DONE_ERROR: 'Failed',
  DONE_ERROR_MANUAL: 'Failed manual',
  DELETED: 'Deleted',
};

/** Every event status, in the order the labels list them (the Record makes the compiler check the API's enum). */
export const EVENT_STATUSES = Object.keys(EVENT_LABEL) as EventStatus[];
/** Finished statuses are the DONE_* ones (docs/behaviour.md#event-statuses). */
export const FINISHED: EventStatus[] = EVENT_STATUSES.filter((s) => s.startsWith('DONE'));

export function eventLabel(s: string): string {
  return EVENT_LABEL[s as EventStatus] ?? s;
}

export function machineLabel(s: string): string {
  return s
    .toLowerCase()
    .split('_')
    .map((w, i) => (i === 0 ? w[0].toUpperCase() + w.slice(1) : w))
    .join(' ');
}

/** Colour family of a status, for the badge. */
export function tone(s: string): 'ok' | 'bad' | 'warn' | 'run' | 'idle' {
  if (/^(DONE|DONE_MANUAL|SUCCESS|SUCCESS_NO_UPDATES|SUCCESS_MANUAL|COMPLIANT|Online)$/.test(s)) return 'ok';
  if (
    /^(DONE_ERROR|DONE_ERROR_MANUAL|FAILED|FAILED_MANUAL|ERROR|TIMED_OUT|NOT_AVAILABLE|OMITTED|NOT_IN_TIME_WINDOW|ConnectionLost)$/.test(
      s,
    )
  )
    return 'bad';
  if (/^(DONE_PARTIAL|NOT_APPROVED|HALTED|REBOOTING_MANUAL|NON_COMPLIANT)$/.test(s)) return 'warn';
  if (/^(IN_PROGRESS|IN_PROGRESS_MANUAL|APPROVED)$/.test(s)) return 'run';
  return 'idle';
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026-11-30 23:00 UTC` */
export function utc(iso: string | undefined, seconds = false): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return `${seconds ? `${base}:${pad(d.getUTCSeconds())}` : base} UTC`;
}

export function local(iso: string): string {
  const d = new Date(iso);
  return `${d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })} (your local time)`;
}

/** A time in UTC, with the reader's local time on hover (and on focus, for keyboard users). */
export function Time({ iso, seconds, clock }: { iso?: string; seconds?: boolean; clock?: boolean }) {
  if (!iso) return <span className="muted">—</span>;
  const full = utc(iso, seconds);
  // `clock`: only the UTC time of day, where the date is plain from the context (an event's machines).
  return (
    <time dateTime={iso} title={clock ? `${full}; ${local(iso)}` : local(iso)} tabIndex={0}>
      {clock ? full.slice(11) : full}
    </time>
  );
}

export function duration(from?: string, to?: string): string {
  if (!from) return '';
  const ms = (to ? Date.parse(to) : Date.now()) - Date.parse(from);
  if (!(ms >= 0)) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** `datetime-local` input value (UTC) ⇄ ISO */
export function toInputUtc(iso?: string): string {
  if (!iso) return '';
  return new Date(iso).toISOString().slice(0, 16);
}
export function fromInputUtc(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(`${v}:00Z`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
