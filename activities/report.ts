import PDFDocument from 'pdfkit';
import { ApplicationFailure } from '@temporalio/common';
import type { EventMachineRecord, EventRecord } from '../domain/event';
import type { HookRun } from '../domain/hooks';
import { isHookSuccess, redactSource } from '../domain/hooks';
import { isEventSuccess, isMachineSuccess } from '../domain/event-status';
import { countByStatus, formatDuration, formatUtc } from '../domain/notifications';
import { ReportTooLargeError, type ReportStore } from '../store/reports';

export interface ReportData {
  event: EventRecord;
  machines: EventMachineRecord[];
  customer_name?: string;
  /** `step` counted from 0, as stored on the event. */
  pipeline?: { name: string; step?: number };
  generated_at: string;
}

// ---------------------------------------------------------------------------------------------------------
// Look

const FONT = 'Helvetica';
const BOLD = 'Helvetica-Bold';
const MONO = 'Courier';
const INK = '#1A202C';
const MUTED = '#5A6473';
const RULE = '#CBD2DB';
const HEAD_BG = '#EDF1F5';
const ACCENT = '#1F4E79';
const GREEN = '#1E7B4F';
const AMBER = '#B7791F';
const RED = '#C53030';
const GREY = '#718096';

const MARGIN = 50;
const FOOTER_H = 28;

const EVENT_STATUS_TEXT: Record<string, string> = {
  DONE: 'Success: every machine and hook succeeded.',
  DONE_MANUAL: 'Success (manual): machines not patched automatically were marked successful by an operator.',
  DONE_PARTIAL: 'Partial success: at least one machine succeeded, but failures occurred (see below).',
  DONE_ERROR: 'Failed: no machine was patched successfully.',
  DONE_ERROR_MANUAL: 'Failed (manual): no machine succeeded; some were changed by an operator.',
  IN_PROGRESS: 'In progress: the event, or a manual action on it, has not finished.',
  HALTED:
    'Halted: a health gate failed; no new machine starts until an operator resumes, overrides or aborts.',
  NEW: 'Upcoming: the event has not run yet.',
  NOT_APPROVED: 'Waiting for approval.',
  APPROVED: 'Approved; waiting for the previous pipeline step.',
  DELETED: 'Deleted.',
};

const WARN_STATUSES = new Set([
  'DONE_PARTIAL',
  'IN_PROGRESS',
  'HALTED',
  'IN_PROGRESS_MANUAL',
  'REBOOTING_MANUAL',
  'NOT_IN_TIME_WINDOW',
  'EXCLUDED',
]);
const NEUTRAL_STATUSES = new Set(['NEW', 'NOT_APPROVED', 'APPROVED', 'DELETED', 'PENDING']);

export function statusColor(status: string): string {
  if (isEventSuccess(status) || isMachineSuccess(status)) return GREEN;
  if (WARN_STATUSES.has(status)) return AMBER;
  if (NEUTRAL_STATUSES.has(status)) return GREY;
  return RED;
}

/**
 * The standard PDF fonts only know Windows-1252; anything else (a package name in another script, an emoji
 * in a hook message) would print as garbage, so it is replaced by '?'. Control characters go as well.
 */
const WIN1252_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');
export function pdfText(s: string | undefined | null): string {
  if (s === undefined || s === null) return '';
  let out = '';
  for (const ch of String(s).replace(/\r\n?/g, '\n').replace(/\t/g, '    ')) {
    const c = ch.codePointAt(0)!;
    if (ch === '\n' || (c >= 0x20 && c < 0x7f) || (c >= 0xa0 && c <= 0xff) || WIN1252_EXTRA.has(ch))
      out += ch;
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) continue;
    else out += '?';
  }
  return out;
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}

/** "06:24" on the window's day, "03-05 06:24" on another; tables say once that times are UTC. */
function clock(iso: string | undefined, day: string): string {
  if (!iso) return '-';
  const f = formatUtc(iso).replace(/ UTC$/, '');
  return f.slice(0, 10) === day ? f.slice(11) : f.slice(5);
}

function span(a?: string, b?: string): string {
  if (!a) return '-';
  if (!b) return `${formatUtc(a)} - (not finished)`;
  const da = formatUtc(a);
  const db = formatUtc(b);
  return `${da.replace(/ UTC$/, '')} - ${da.slice(0, 10) === db.slice(0, 10) ? db.slice(11) : db} (${formatDuration(Date.parse(b) - Date.parse(a))})`;
}

// ---------------------------------------------------------------------------------------------------------
// Layout helpers

type Doc = PDFKit.PDFDocument;

function contentWidth(doc: Doc): number {
  return doc.page.width - doc.page.margins.left - doc.page.margins.right;
}

function bottomLimit(doc: Doc): number {
  return doc.page.height - doc.page.margins.bottom;
}

function ensureSpace(doc: Doc, height: number): void {
  if (doc.y + height > bottomLimit(doc)) doc.addPage();
}

function sectionTitle(doc: Doc, title: string): void {
  ensureSpace(doc, 60);
  doc.moveDown(0.8);
  const x = doc.page.margins.left;
  doc.font(BOLD).fontSize(13).fillColor(ACCENT).text(pdfText(title), x, doc.y);
  const y = doc.y + 2;
  doc
    .moveTo(x, y)
    .lineTo(x + contentWidth(doc), y)
    .lineWidth(0.8)
    .strokeColor(ACCENT)
    .stroke();
  doc.y = y + 6;
  doc.font(FONT).fontSize(9.5).fillColor(INK);
}

interface Column {
  header: string;
  width: number; // fraction of the content width
  mono?: boolean;
  align?: 'left' | 'right' | 'center';
}

interface Cell {
  text: string;
  color?: string;
  bold?: boolean;
}

/**
 * A simple ruled table that repeats its header after a page break. pdfkit's own table does not repeat
 * headers, which auditors expect on multi-page machine lists.
 */
function table(
  doc: Doc,
  columns: Column[],
  rows: (string | Cell)[][],
  opts: { fontSize?: number; width?: number; monoSize?: number } = {},
): void {
  const size = opts.fontSize ?? 8.5;
  const monoSize = opts.monoSize ?? size - 0.5;
  const pad = 3;
  const x0 = doc.page.margins.left;
  const total = contentWidth(doc) * (opts.width ?? 1);
  const widths = columns.map((c) => c.width * total);
  const cellText = (c: string | Cell) => pdfText(typeof c === 'string' ? c : c.text);
  const rowHeight = (cells: (string | Cell)[], header: boolean) =>
    Math.max(
      ...cells.map((c, i) => {
        const mono = !header && columns[i].mono;
        doc
          .font(header || (typeof c !== 'string' && c.bold) ? BOLD : mono ? MONO : FONT)
          .fontSize(mono ? monoSize : size);
        return doc.heightOfString(cellText(c) || ' ', { width: widths[i] - 2 * pad });
      }),
    ) +
    2 * pad;

  const drawRow = (cells: (string | Cell)[], header: boolean) => {
    const h = rowHeight(cells, header);
    const y = doc.y;
    if (header) doc.rect(x0, y, total, h).fill(HEAD_BG);
    let x = x0;
    cells.forEach((c, i) => {
      const cell = typeof c === 'string' ? { text: c } : c;
      const mono = !header && columns[i].mono;
      doc
        .font(header || cell.bold ? BOLD : mono ? MONO : FONT)
        .fontSize(mono ? monoSize : size)
        .fillColor(header ? INK : (cell.color ?? INK))
        .text(cellText(c), x + pad, y + pad, {
          width: widths[i] - 2 * pad,
          align: columns[i].align ?? 'left',
        });
      x += widths[i];
    });
    doc
      .moveTo(x0, y + h)
      .lineTo(x0 + total, y + h)
      .lineWidth(0.5)
      .strokeColor(RULE)
      .stroke();
    doc.y = y + h;
  };

  const header = columns.map((c) => c.header);
  ensureSpace(doc, rowHeight(header, true) + (rows[0] ? rowHeight(rows[0], false) : 0));
  drawRow(header, true);
  for (const r of rows) {
    const h = rowHeight(r, false);
    if (doc.y + h > bottomLimit(doc)) {
      doc.addPage();
      drawRow(header, true);
    }
    drawRow(r, false);
  }
  doc.x = x0;
  doc.font(FONT).fontSize(9.5).fillColor(INK);
}

function keyValues(
  doc: Doc,
  pairs: [string, string | Cell][],
  labelWidth = 120,
  area: { x: number; width: number } = { x: doc.page.margins.left, width: contentWidth(doc) },
): void {
  const x0 = area.x;
  const w = area.width - labelWidth;
  for (const [k, v] of pairs) {
    const cell = typeof v === 'string' ? { text: v } : v;
    doc.font(cell.bold ? BOLD : FONT).fontSize(10);
    const h = Math.max(doc.heightOfString(pdfText(cell.text) || ' ', { width: w }), 12) + 3;
    ensureSpace(doc, h);
    const y = doc.y;
    doc
      .font(BOLD)
      .fontSize(10)
      .fillColor(MUTED)
      .text(pdfText(k), x0, y, { width: labelWidth - 8 });
    doc
      .font(cell.bold ? BOLD : FONT)
      .fontSize(10)
      .fillColor(cell.color ?? INK)
      .text(pdfText(cell.text) || '-', x0 + labelWidth, y, { width: w });
    doc.y = y + h;
  }
  doc.x = doc.page.margins.left;
  doc.fillColor(INK);
}

function paragraph(
  doc: Doc,
  text: string,
  opts: { color?: string; size?: number; font?: string; indent?: number } = {},
): void {
  const x = doc.page.margins.left + (opts.indent ?? 0);
  doc.font(opts.font ?? FONT).fontSize(opts.size ?? 9.5);
  ensureSpace(doc, doc.heightOfString(pdfText(text), { width: contentWidth(doc) - (opts.indent ?? 0) }) + 2);
  doc
    .fillColor(opts.color ?? INK)
    .text(pdfText(text), x, doc.y, { width: contentWidth(doc) - (opts.indent ?? 0) });
  doc.x = doc.page.margins.left;
  doc.fillColor(INK);
}

// ---------------------------------------------------------------------------------------------------------
// Sections

function header(doc: Doc, data: ReportData): void {
  const x0 = doc.page.margins.left;
  const w = contentWidth(doc);
  doc
    .font(BOLD)
    .fontSize(9)
    .fillColor(ACCENT)
    .text('PATCHWAVE', x0, MARGIN - 10, { width: w, characterSpacing: 1.5 });
  doc
    .font(BOLD)
    .fontSize(20)
    .fillColor(INK)
    .text('Patching Event Report', x0, doc.y + 2, { width: w });
  doc
    .font(FONT)
    .fontSize(10)
    .fillColor(MUTED)
    .text(
      pdfText(
        `${data.customer_name ?? data.event.customer_id}  |  ${data.event.plan_name}  |  ${formatUtc(data.event.start)}`,
      ),
      x0,
      doc.y + 2,
      { width: w },
    );
  const y = doc.y + 6;
  doc
    .moveTo(x0, y)
    .lineTo(x0 + w, y)
    .lineWidth(2)
    .strokeColor(ACCENT)
    .stroke();
  doc.y = y + 10;
  doc.fillColor(INK);
}

function statusBanner(doc: Doc, event: EventRecord): void {
  const x0 = doc.page.margins.left;
  const w = contentWidth(doc);
  const color = statusColor(event.status);
  const explanation = EVENT_STATUS_TEXT[event.status] ?? '';
  doc.font(FONT).fontSize(9.5);
  const h = 16 + 14 + doc.heightOfString(explanation, { width: w - 24 });
  ensureSpace(doc, h + 8);
  const y = doc.y + 4;
  doc.save().rect(x0, y, w, h).fillOpacity(0.08).fill(color).restore();
  doc.rect(x0, y, 5, h).fill(color);
  doc
    .font(BOLD)
    .fontSize(13)
    .fillColor(color)
    .text(`Final status: ${event.status}`, x0 + 14, y + 8, { width: w - 24 });
  doc
    .font(FONT)
    .fontSize(9.5)
    .fillColor(INK)
    .text(explanation, x0 + 14, doc.y + 2, { width: w - 24 });
  doc.y = y + h + 6;
  doc.x = x0;
}

function overview(doc: Doc, data: ReportData): void {
  const e = data.event;
  const runText =
    e.run_no > 0
      ? `${e.run_no} partial run(s) after the scheduled run; machines show their last run`
      : 'scheduled run';
  const pairs: [string, string | Cell][] = [
    ['Customer', data.customer_name ? `${data.customer_name} (${e.customer_id})` : e.customer_id],
    ['Plan', `${e.plan_name} (${e.plan_id})`],
  ];
  if (e.pipeline_id || data.pipeline)
    pairs.push([
      'Pipeline',
      `${data.pipeline?.name ?? e.pipeline_id}${e.pipeline_id && data.pipeline ? ` (${e.pipeline_id})` : ''}${
        (data.pipeline?.step ?? e.step) !== undefined ? `, step ${(data.pipeline?.step ?? e.step)! + 1}` : ''
      }`,
    ]);
  pairs.push(
    ['Event', e.id],
    ['Window', span(e.start, e.end)],
    ['Executed', e.started_at ? span(e.started_at, e.finished_at) : 'not started'],
    ['Runs', runText],
    ['Final status', { text: e.status, color: statusColor(e.status), bold: true }],
    ['Report generated', formatUtc(data.generated_at)],
  );
  keyValues(doc, pairs);
}

function summary(doc: Doc, data: ReportData): void {
  sectionTitle(doc, 'Summary');
  const counts = countByStatus(data.machines);
  const order = Object.keys(counts).sort((a, b) => rankStatus(a) - rankStatus(b) || a.localeCompare(b));
  const total = data.machines.length;
  const rows: (string | Cell)[][] = order.map((s) => [
    { text: s, color: statusColor(s), bold: true },
    String(counts[s]),
  ]);
  rows.push([
    { text: 'Total machines', bold: true },
    { text: String(total), bold: true },
  ]);
  // Status counts on the left, the other facts beside them.
  ensureSpace(doc, 20 * (rows.length + 1));
  const top = doc.y;
  table(
    doc,
    [
      { header: 'Machine status', width: 0.7 },
      { header: 'Machines', width: 0.3, align: 'right' },
    ],
    rows,
    { fontSize: 9, width: 0.5 },
  );
  const tableBottom = doc.y;
  const tablePage = doc.bufferedPageRange().count;

  const hostHooks = data.machines.flatMap((m) => m.hooks ?? []);
  const failedGlobal = data.event.hooks.filter((h) => !isHookSuccess(h.code)).length;
  const failedHost = hostHooks.filter((h) => !isHookSuccess(h.code)).length;
  const updates = data.machines.reduce((n, m) => n + (m.installed?.length ?? 0), 0);
  const rebooted = data.machines.filter((m) => m.rebooted).length;
  const sameSpot = doc.bufferedPageRange().count === tablePage && tableBottom > top;
  if (sameSpot) doc.y = top;
  else doc.moveDown(0.5);
  const x = doc.page.margins.left + contentWidth(doc) * (sameSpot ? 0.56 : 0);
  keyValues(
    doc,
    [
      ['Global hooks', `${data.event.hooks.length} run, ${failedGlobal} failed`],
      ['Host hooks', `${hostHooks.length} run, ${failedHost} failed`],
      [
        'Updates installed',
        `${updates} in total on ${data.machines.filter((m) => (m.installed?.length ?? 0) > 0).length} machine(s)`,
      ],
      ['Machines rebooted', String(rebooted)],
    ],
    110,
    { x, width: doc.page.margins.left + contentWidth(doc) - x },
  );
  if (sameSpot) doc.y = Math.max(doc.y, tableBottom);
  const reasons = data.event.failure_reasons ?? [];
  if (reasons.length) {
    doc.moveDown(0.9);
    paragraph(doc, 'Failures', { font: BOLD, size: 10, color: RED });
    for (const r of reasons) paragraph(doc, `-  ${r}`, { indent: 8 });
  }
}

const STATUS_RANK = [
  'SUCCESS',
  'SUCCESS_NO_UPDATES',
  'SUCCESS_MANUAL',
  'FAILED',
  'FAILED_MANUAL',
  'ERROR',
  'NOT_AVAILABLE',
  'TIMED_OUT',
  'NOT_IN_TIME_WINDOW',
  'OMITTED',
  'EXCLUDED',
];
function rankStatus(s: string): number {
  const i = STATUS_RANK.indexOf(s);
  return i < 0 ? STATUS_RANK.length : i;
}

function hookRows(hooks: HookRun[], showRun: boolean, day: string): (string | Cell)[][] {
  return hooks.map((h) => {
    const ok = isHookSuccess(h.code);
    return [
      `${h.name}${showRun && h.run_no > 0 ? ` (run ${h.run_no})` : ''}`,
      h.type,
      clip(h.source ? redactSource(h.source) : '', 90),
      { text: String(h.code), color: ok ? GREEN : RED, bold: true },
      { text: ok ? 'OK' : 'FAILED', color: ok ? GREEN : RED, bold: !ok },
      clip(h.message || '-', 300),
      clock(h.finished_at, day),
    ];
  });
}

const HOOK_COLUMNS: Column[] = [
  { header: 'Hook', width: 0.12 },
  { header: 'Type', width: 0.08 },
  { header: 'Source', width: 0.27, mono: true },
  { header: 'Code', width: 0.07, align: 'right' },
  { header: 'Result', width: 0.09 },
  { header: 'Message', width: 0.28 },
  { header: 'Ended', width: 0.09 },
];

function globalHooks(doc: Doc, event: EventRecord): void {
  sectionTitle(doc, 'Global hooks');
  if (event.hooks.length === 0) {
    paragraph(doc, 'No global hooks ran.', { color: MUTED });
    return;
  }
  table(doc, HOOK_COLUMNS, hookRows(event.hooks, event.run_no > 0, event.start.slice(0, 10)), {
    fontSize: 8,
  });
  timesNote(doc, event);
}

function machinesTable(doc: Doc, event: EventRecord, machines: EventMachineRecord[]): void {
  sectionTitle(doc, 'Machines');
  if (machines.length === 0) {
    paragraph(doc, 'The event has no machines.', { color: MUTED });
    return;
  }
  const day = event.start.slice(0, 10);
  const rows = machines.map((m, i) => [
    String(i + 1),
    m.name,
    m.ssm_machine_id,
    { text: m.status, color: statusColor(m.status), bold: true },
    clock(m.started_at, day),
    clock(m.ended_at, day),
    m.rebooted === undefined ? '-' : m.rebooted ? 'yes' : 'no',
    String(m.installed?.length ?? 0),
  ]);
  table(
    doc,
    [
      { header: '#', width: 0.04, align: 'right' },
      { header: 'Machine', width: 0.18 },
      { header: 'SSM ID', width: 0.2, mono: true },
      { header: 'Status', width: 0.23 },
      { header: 'Started', width: 0.09 },
      { header: 'Ended', width: 0.09 },
      { header: 'Reboot', width: 0.08 },
      { header: 'Updates', width: 0.09, align: 'right' },
    ],
    rows,
    { monoSize: 7.5 },
  );
  timesNote(doc, event);
}

/** Machines an operator held (docs/behaviour.md#machine-holds): why, until when, and who held them. */
function heldMachines(doc: Doc, event: EventRecord, machines: EventMachineRecord[]): void {
  const held = machines.filter((m) => m.status === 'OMITTED' && m.hold);
  if (held.length === 0) return;
  sectionTitle(doc, 'Machines on hold');
  table(
    doc,
    [
      { header: 'Machine', width: 0.2 },
      { header: 'SSM ID', width: 0.2, mono: true },
      { header: 'Reason', width: 0.3 },
      { header: 'Until', width: 0.15 },
      { header: 'Held by', width: 0.15, mono: true },
    ],
    held.map((m) => [
      m.name,
      m.ssm_machine_id,
      m.hold!.reason,
      m.hold!.until.slice(0, 16).replace('T', ' '),
      m.hold!.set_by,
    ]),
    { monoSize: 7.5 },
  );
  paragraph(doc, `Held machines are OMITTED: not patched in this run of ${event.plan_name}.`, {
    color: MUTED,
  });
}

function timesNote(doc: Doc, event: EventRecord): void {
  doc.moveDown(0.2);
  paragraph(doc, `Times are UTC on ${event.start.slice(0, 10)} unless a date (MM-DD) is shown.`, {
    color: MUTED,
    size: 7.5,
  });
}

const STATUS_MEANING: Record<string, string> = {
  SUCCESS: 'patched; updates were installed',
  SUCCESS_NO_UPDATES: 'patched; no updates were available',
  SUCCESS_MANUAL: 'marked successful by an operator after manual action (see action taken)',
  FAILED: 'the patch command failed, was cancelled or timed out in SSM',
  FAILED_MANUAL: 'marked failed by an operator (see action taken)',
  ERROR: 'Patchwave could not complete the run (internal error)',
  NOT_AVAILABLE: 'the machine was offline or its SSM agent was not online',
  OMITTED:
    'not patched: a global pre hook or one of its pre host hooks failed, or the command could not be built',
  TIMED_OUT: 'the patch command was still running when the window ended',
  NOT_IN_TIME_WINDOW: 'the window ended before the machine could start',
  EXCLUDED: 'removed from the event by an operator before it ran',
  IN_PROGRESS_MANUAL: 'an operator is working on the machine',
  REBOOTING_MANUAL: 'an operator is rebooting the machine',
  PENDING: 'not started yet',
  IN_PROGRESS: 'running',
};

/** Meanings of the statuses that occur in this report, so the document stands on its own. */
function legend(doc: Doc, data: ReportData): void {
  const present = [...new Set(data.machines.map((m) => m.status))].sort(
    (a, b) => rankStatus(a) - rankStatus(b),
  );
  if (present.length === 0) return;
  sectionTitle(doc, 'Status definitions');
  table(
    doc,
    [
      { header: 'Status', width: 0.28 },
      { header: 'Meaning', width: 0.72 },
    ],
    present.map((s) => [{ text: s, color: statusColor(s), bold: true }, STATUS_MEANING[s] ?? '-']),
    { fontSize: 8 },
  );
  doc.moveDown(0.3);
  paragraph(
    doc,
    'A hook succeeded when it answered with a code from 200 to 299. The final status is computed from the machine ' +
      'statuses and hook results: any failure with at least one successful machine gives DONE_PARTIAL.',
    { color: MUTED, size: 8 },
  );
}

function machineDetails(doc: Doc, machines: EventMachineRecord[], showRun: boolean, day: string): void {
  if (machines.length === 0) return;
  sectionTitle(doc, 'Machine details');
  for (const m of machines) {
    ensureSpace(doc, 80);
    const x0 = doc.page.margins.left;
    const y = doc.y + 6;
    doc.rect(x0, y, 4, 14).fill(statusColor(m.status));
    doc
      .font(BOLD)
      .fontSize(11)
      .fillColor(INK)
      .text(pdfText(`${m.name}  `), x0 + 10, y + 1, { continued: true });
    doc
      .font(FONT)
      .fontSize(9.5)
      .fillColor(MUTED)
      .text(pdfText(`${m.machine_id} | ${m.ssm_machine_id}`));
    doc.y = Math.max(doc.y, y + 16) + 2;
    const manual = ['SUCCESS_MANUAL', 'FAILED_MANUAL', 'IN_PROGRESS_MANUAL', 'REBOOTING_MANUAL'].includes(
      m.status,
    );
    const pairs: [string, string | Cell][] = [
      [
        'Status',
        { text: `${m.status}${manual ? ' (set manually)' : ''}`, color: statusColor(m.status), bold: true },
      ],
      ['Ran', span(m.started_at, m.ended_at)],
    ];
    if (m.started_at || m.rebooted !== undefined)
      pairs.push(['Reboot', m.rebooted === undefined ? 'unknown' : m.rebooted ? 'rebooted' : 'not rebooted']);
    if (m.command_id) pairs.push(['SSM command', m.command_id]);
    if (showRun) pairs.push(['Run', m.run_no > 0 ? `partial run ${m.run_no}` : 'scheduled run']);
    if (m.reason) pairs.push([manual ? 'Previous reason' : 'Reason', m.reason]);
    if (manual || m.action_taken) pairs.push(['Action taken', m.action_taken ?? '-']);
    keyValues(doc, pairs, 100);

    const installed = m.installed ?? [];
    if (installed.length) {
      paragraph(doc, `Installed updates (${installed.length})`, { font: BOLD, size: 9.5 });
      updateList(doc, installed);
    } else if (m.status === 'SUCCESS_NO_UPDATES') {
      paragraph(doc, 'No updates were available.', { color: MUTED });
    }
    const hooks = m.hooks ?? [];
    if (hooks.length) {
      doc.moveDown(0.3);
      paragraph(doc, 'Host hooks', { font: BOLD, size: 9.5 });
      table(doc, HOOK_COLUMNS, hookRows(hooks, showRun, day), { fontSize: 8 });
    }
    doc.moveDown(0.6);
    const ly = doc.y;
    doc
      .moveTo(x0, ly)
      .lineTo(x0 + contentWidth(doc), ly)
      .lineWidth(0.4)
      .strokeColor(RULE)
      .dash(2, { space: 2 })
      .stroke()
      .undash();
    doc.y = ly + 2;
  }
}

/** Package names in two columns: long lists stay readable and short. */
/** The patch manifest (domain/manifest.ts): what the run installed on its successful machines, per OS. */
function manifestSection(doc: Doc, event: EventRecord): void {
  const m = event.manifest;
  if (!m) return;
  sectionTitle(doc, 'Patch manifest');
  paragraph(
    doc,
    'Every patch installed on the machines that ended SUCCESS or SUCCESS_MANUAL, per operating system, as SSM ' +
      'DescribeInstancePatches reported it. A later pipeline step promoted with exact_previous_step installs exactly this set.',
    { color: MUTED, size: 8.5 },
  );
  if (!m.operating_systems.length) {
    paragraph(doc, 'No machine ended SUCCESS or SUCCESS_MANUAL: the manifest is empty.');
    return;
  }
  for (const os of m.operating_systems) {
    paragraph(
      doc,
      `${os.operating_system}: ${os.machines.length} machine(s), ${os.patches.length} patch(es); SnapshotId ${os.snapshot_ids.join(', ') || '-'}`,
      { font: BOLD, size: 9.5 },
    );
    if (os.patches.length)
      table(
        doc,
        [
          { header: 'KB / package', width: 0.22, mono: true },
          { header: 'Title', width: 0.3, mono: true },
          { header: 'Classification', width: 0.13 },
          { header: 'Severity', width: 0.1 },
          { header: 'CVEs', width: 0.17 },
          { header: 'Machines', width: 0.08, align: 'right' },
        ],
        os.patches.map((p) => [
          p.kb_id,
          p.title,
          p.classification,
          p.severity,
          (p.cve_ids ?? []).join(' '),
          String(p.machines),
        ]),
      );
  }
}

/** A promoted step (domain/promotion-check.ts): the promoted set compared with what each machine installed. */
function promotionSection(doc: Doc, event: EventRecord): void {
  const c = event.promotion_check;
  if (!c) return;
  sectionTitle(doc, 'Promotion');
  const from = c.from_events.length ? ` (events ${c.from_events.join(', ')})` : '';
  const excluded = c.excluded.length ? ` Excluded: ${c.excluded.join(', ')}.` : '';
  const refs = (ps: { kb_id: string; title: string }[] | undefined) =>
    ps === undefined ? 'n/a' : ps.length ? ps.map((p) => p.title).join(', ') : 'none';
  if (c.mode === 'exact_previous_step') {
    paragraph(
      doc,
      `Promotion exact_previous_step: the promoted set is the manifest of step ${c.previous_step + 1}${from}, per operating system, less the excluded patches.${excluded} ` +
        'Each machine should install exactly its set: "Missing" patches of the set it did not install, "Unexpected" patches it installed outside the set (should be none).',
      { color: MUTED, size: 8.5 },
    );
    for (const os of c.promoted ?? [])
      paragraph(doc, `${os.operating_system}: ${os.patches.length} patch(es): ${refs(os.patches)}`, {
        font: BOLD,
        size: 9,
      });
    if (!c.promoted?.length) paragraph(doc, 'The previous step recorded no manifest: nothing was promoted.');
    paragraph(
      doc,
      c.clean
        ? 'Result: every machine installed exactly the promoted set.'
        : 'Result: at least one machine did not install exactly the promoted set (see below).',
      { font: BOLD, size: 9.5, color: c.clean ? GREEN : AMBER },
    );
  } else {
    paragraph(
      doc,
      `Promotion publish_date_cutoff: only patches released before step ${c.previous_step + 1} started (${c.previous_start ? formatUtc(c.previous_start) : '-'})${from}: ApproveUntilDate ${c.cutoff ?? '-'}.${excluded} ` +
        'SSM reports no release date for installed patches, so each machine lists what it installed.',
      { color: MUTED, size: 8.5 },
    );
  }
  if (!c.machines.length) return;
  table(
    doc,
    [
      { header: 'Machine', width: 0.17 },
      { header: 'Status', width: 0.11 },
      { header: 'OS', width: 0.2 },
      { header: 'Installed', width: 0.2, mono: true },
      { header: 'Missing', width: 0.16, mono: true },
      { header: 'Unexpected', width: 0.16, mono: true },
    ],
    c.machines.map((m) => [
      `${m.name} (${m.machine_id})`,
      { text: m.status, color: statusColor(m.status) },
      m.operating_system,
      refs(m.installed),
      m.missing?.length ? { text: refs(m.missing), color: RED } : refs(m.missing),
      m.unexpected?.length ? { text: refs(m.unexpected), color: RED } : refs(m.unexpected),
    ]),
    { fontSize: 8 },
  );
}

function updateList(doc: Doc, items: string[]): void {
  const x0 = doc.page.margins.left + 10;
  const colW = (contentWidth(doc) - 10) / 2;
  doc.font(MONO).fontSize(8).fillColor(INK);
  for (let i = 0; i < items.length; i += 2) {
    const a = pdfText(items[i]);
    const b = pdfText(items[i + 1] ?? '');
    const h =
      Math.max(
        doc.heightOfString(a, { width: colW - 8 }),
        b ? doc.heightOfString(b, { width: colW - 8 }) : 0,
      ) + 1;
    ensureSpace(doc, h);
    const y = doc.y;
    doc
      .font(MONO)
      .fontSize(8)
      .fillColor(INK)
      .text(a, x0, y, { width: colW - 8 });
    if (b) doc.text(b, x0 + colW, y, { width: colW - 8 });
    doc.y = y + h;
  }
  doc.x = doc.page.margins.left;
  doc.font(FONT).fontSize(9.5);
}

function footers(doc: Doc, data: ReportData): void {
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0; // writing into the margin must not open a new page
    const x0 = doc.page.margins.left;
    const w = contentWidth(doc);
    const y = doc.page.height - MARGIN + 6;
    doc
      .moveTo(x0, y - 4)
      .lineTo(x0 + w, y - 4)
      .lineWidth(0.5)
      .strokeColor(RULE)
      .stroke();
    doc
      .font(FONT)
      .fontSize(7.5)
      .fillColor(MUTED)
      .text(
        pdfText(`Patchwave | Event ${data.event.id} | Generated ${formatUtc(data.generated_at)}`),
        x0,
        y,
        {
          width: w * 0.75,
          lineBreak: false,
        },
      );
    doc.text(`Page ${i - range.start + 1} of ${range.count}`, x0 + w * 0.75, y, {
      width: w * 0.25,
      align: 'right',
      lineBreak: false,
    });
    doc.page.margins.bottom = bottom;
  }
}

/** Renders the event report as a PDF (A4). Deterministic for the same input, except for PDF metadata IDs. */
export function renderEventReport(data: ReportData): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const doc = new PDFDocument({
      size: 'A4',
      margins: { top: MARGIN, left: MARGIN, right: MARGIN, bottom: MARGIN + FOOTER_H - 10 },
      bufferPages: true,
      info: {
        Title: pdfText(`Patching event report ${data.event.id}`),
        Author: 'Patchwave',
        Subject: pdfText(`${data.event.plan_name} ${data.event.start}`),
        CreationDate: new Date(data.generated_at),
      },
    });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    try {
      header(doc, data);
      overview(doc, data);
      statusBanner(doc, data.event);
      summary(doc, data);
      globalHooks(doc, data.event);
      machinesTable(doc, data.event, data.machines);
      heldMachines(doc, data.event, data.machines);
      machineDetails(doc, data.machines, data.event.run_no > 0, data.event.start.slice(0, 10));
      manifestSection(doc, data.event);
      promotionSection(doc, data.event);
      legend(doc, data);
      footers(doc, data);
      doc.end();
    } catch (err) {
      reject(err);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------

/** Activity factory: `storeEventReport` is run when an event finishes and after manual changes / partial runs. */
export function createReportActivities(deps: { reports: ReportStore; now?: () => Date }) {
  const store = deps.reports;
  const now = deps.now ?? (() => new Date());
  return {
    async storeEventReport(input: { event_id: string }): Promise<{ report_id: string; bytes: number }> {
      const loaded = await store.loadInput(input.event_id);
      // Retrying cannot make a missing event appear or a huge report shrink.
      if (!loaded)
        throw ApplicationFailure.nonRetryable(`event ${input.event_id} does not exist`, 'EventNotFound');
      const generated_at = now().toISOString();
      const pdf = await renderEventReport({ ...loaded, generated_at });
      try {
        await store.save({
          event_id: input.event_id,
          customer_id: loaded.event.customer_id,
          run_no: loaded.event.run_no,
          generated_at,
          pdf,
        });
      } catch (err) {
        if (err instanceof ReportTooLargeError)
          throw ApplicationFailure.nonRetryable(err.message, 'ReportTooLarge');
        throw err;
      }
      return { report_id: input.event_id, bytes: pdf.length };
    },
  };
}

export type ReportActivities = ReturnType<typeof createReportActivities>;
