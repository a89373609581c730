import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '../../api';
import { useAuth } from '../../auth';
import { Time } from '../../format';
import type { Machine } from '../../types';
import { ConfirmButton, ErrorBox, Field, noPerm } from '../../components/ui';
import { fieldErrors } from '../../components/forms';

/** The API's cap on a hold: this many days after the machine's last patch (docs/behaviour.md#machine-holds). */
const HOLD_MAX_DAYS = 60;

/** A datetime-local value (no zone), read as UTC. */
const utcIso = (local: string) => (local ? `${local.length === 16 ? `${local}:00` : local}Z` : '');

/**
 * A machine's hold (docs/behaviour.md#machine-holds): while it lasts, events mark the machine OMITTED "on hold";
 * it ends by itself at `until` or when a person ends it here. The API refuses an `until` more than 60 days
 * after the last patch; its message shows beside the field.
 */
export function HoldPanel({ machine }: { machine: Machine }) {
  const { can } = useAuth();
  const qc = useQueryClient();
  const allowed = can('machine', 'update', machine.id);
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState('');
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['machine', machine.id] });
    void qc.invalidateQueries({ queryKey: ['machines'] });
  };
  const hold = useMutation({
    mutationFn: () => api('PUT', `/machines/${machine.id}/hold`, { reason, until: utcIso(until) }),
    onSuccess: () => {
      setReason('');
      setUntil('');
      refresh();
    },
  });
  const release = useMutation({
    mutationFn: () => api('DELETE', `/machines/${machine.id}/hold`),
    onSuccess: refresh,
  });
  const errors = fieldErrors(hold.error);
  const base = machine.last_patching?.at ?? machine.created_at;
  const latest = new Date(Date.parse(base) + HOLD_MAX_DAYS * 86_400_000).toISOString();
  const h = machine.hold;

  return (
    <section className="panel" aria-labelledby="hold-title">
      <h2 id="hold-title">Hold</h2>
      {h ? (
        <>
          <p data-testid="hold-state">
            <span className="badge warn">On hold</span> until <Time iso={h.until} />: {h.reason}{' '}
            <span className="muted small">
              (set by <span className="mono">{h.set_by}</span> at <Time iso={h.set_at} />)
            </span>
          </p>
          <p className="muted small">Events omit this machine (OMITTED, on hold) until then.</p>
          <ConfirmButton
            label="End hold"
            confirm="Events patch this machine again from their next run."
            disabled={!allowed || release.isPending}
            title={allowed ? undefined : noPerm('machine', 'update')}
            onConfirm={() => release.mutate()}
          />
          <ErrorBox error={release.error} />
        </>
      ) : (
        <form
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            hold.mutate();
          }}
        >
          <p className="muted small" data-testid="hold-state">
            Not on hold. A hold keeps this machine out of events (OMITTED, on hold) until it ends, at most{' '}
            {HOLD_MAX_DAYS} days after its {machine.last_patching?.at ? 'last patch' : 'registration'} (
            <Time iso={latest} />
            ).
          </p>
          <Field id="hold-reason" label="Reason" error={errors.at('reason')}>
            <input
              id="hold-reason"
              value={reason}
              maxLength={500}
              onChange={(e) => setReason(e.target.value)}
              aria-invalid={!!errors.at('reason')}
            />
          </Field>
          <Field id="hold-until" label="Until (UTC)" error={errors.at('until')}>
            <input
              id="hold-until"
              type="datetime-local"
              value={until}
              onChange={(e) => setUntil(e.target.value)}
              aria-invalid={!!errors.at('until')}
            />
          </Field>
          <button type="submit" className="primary" disabled={!allowed || hold.isPending}>
            {hold.isPending ? 'Holding…' : 'Put on hold'}
          </button>
          <ErrorBox error={hold.error} fieldsShown={errors.any} />
        </form>
      )}
    </section>
  );
}
