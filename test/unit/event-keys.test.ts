import { eventKeys, keyRange, keyTail, statusKey } from '../../store/event-keys';

const ev = (id: string, start: string, status = 'DONE') =>
  eventKeys({ _id: id, customer_id: 'cus_a', status, start, plan_id: 'pln_p' });

/** Whether `key` lies in a range as MongoDB compares strings (byte order). */
const inRange = (key: string, r: Record<string, string>) =>
  (r.$gt === undefined || key > r.$gt) &&
  (r.$gte === undefined || key >= r.$gte) &&
  (r.$lt === undefined || key < r.$lt);

describe('event listing keys', () => {
  it('order events by (start, id) whatever form the start was written in', () => {
    const keys = [
      ev('pln_p-20260102T000000Z', '2026-01-02T00:00:00Z').list_key,
      ev('pln_b-20260101T000000Z', '2026-01-01T00:00:00.000Z').list_key,
      ev('pln_a-20260101T000000Z', '2026-01-01T00:00:00.000Z').list_key,
      ev('pln_p-20261231T000000Z', '2026-12-31T00:00:00.000Z').list_key,
    ];
    expect([...keys].sort()).toEqual([keys[2], keys[1], keys[0], keys[3]]);
    expect(keys[0]).toBe('cus_a|2026-01-02T00:00:00.000Z|pln_p-20260102T000000Z');
  });

  it('bound the start as from ≤ start < to, after the previous page, inside one customer', () => {
    const at = (s: string) => ev(`pln_p-${s}`, s).list_key;
    const r = keyRange('cus_a|', { from: '2026-01-02T00:00:00Z', to: '2026-01-03T00:00:00Z' });
    expect(inRange(at('2026-01-02T00:00:00.000Z'), r)).toBe(true);
    expect(inRange(at('2026-01-02T23:59:59.999Z'), r)).toBe(true);
    expect(inRange(at('2026-01-03T00:00:00.000Z'), r)).toBe(false);
    expect(inRange(at('2026-01-01T23:59:59.999Z'), r)).toBe(false);

    const all = keyRange('cus_a|', {});
    expect(inRange(at('2026-01-02T00:00:00.000Z'), all)).toBe(true);
    expect(inRange('cus_ab|2026-01-02T00:00:00.000Z|x', all)).toBe(false);
    expect(inRange('cus_|2026-01-02T00:00:00.000Z|x', all)).toBe(false);

    const last = keyTail('2026-01-02T00:00:00.000Z', 'pln_p-20260102T000000Z');
    const next = keyRange('cus_a|', { from: '2026-01-01T00:00:00Z', after: last });
    expect(inRange(at('2026-01-02T00:00:00.000Z'), next)).toBe(false);
    expect(inRange(ev('pln_q-x', '2026-01-02T00:00:00.000Z').list_key, next)).toBe(true);
    // A token from before `from` (the client changed the filter) does not widen the range.
    const early = keyRange('cus_a|', { from: '2026-01-05T00:00:00Z', after: last });
    expect(inRange(at('2026-01-04T00:00:00.000Z'), early)).toBe(false);
  });

  it('keep the status key in the same order under its own prefix', () => {
    const k = ev('pln_p-1', '2026-01-02T00:00:00Z', 'DONE_ERROR');
    expect(k.status_key).toBe(statusKey('cus_a', 'DONE_ERROR', '2026-01-02T00:00:00.000Z', 'pln_p-1'));
    expect(inRange(k.status_key, keyRange('cus_a|DONE_ERROR|', {}))).toBe(true);
    expect(inRange(k.status_key, keyRange('cus_a|DONE|', {}))).toBe(false);
    expect(k.plan_key).toBe('cus_a|pln_p|2026-01-02T00:00:00.000Z|pln_p-1');
    expect(k.pipeline_key).toBeUndefined();
  });
});
