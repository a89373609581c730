import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { api } from '../../api';
import { useAuth } from '../../auth';
import type { EventDetail } from '../../types';
import { ConfirmButton, ErrorBox, Field, noPerm } from '../../components/ui';
import { fieldErrors } from '../../components/forms';

type Action = 'resume' | 'override' | 'abort';

/**
 * A HALTED event (docs/behaviour.md#halted): why it halted, and the operator's three answers. Resume reads the
 * gates again before the next machine starts; override needs a reason and skips the gates for the rest of the
 * run; abort (reason optional) leaves the machines not started OMITTED. Each goes through the API, which
 * refuses with 409 once the event is no longer halted (another person answered first, or the window ended).
 */
export function HaltedPanel({ event, onDone }: { event: EventDetail; onDone: () => void }) {
  const { can } = useAuth();
  const allowed = can('event', 'update', event.id);
  const [reason, setReason] = useState('');
  const act = useMutation({
    mutationFn: (a: Action) =>
      api('POST', `/events/${encodeURIComponent(event.id)}/${a}`, a === 'resume' ? undefined : reasonBody(a)),
    onSuccess: () => {
      setReason('');
      onDone();
    },
  });
  const reasonBody = (a: Action) => (a === 'abort' && !reason.trim() ? {} : { reason });
  const why = [...event.timeline].reverse().find((t) => t.type === 'halted')?.message;
  const errors = fieldErrors(act.error);
  const pending = act.isPending;
  const deny = allowed ? undefined : noPerm('event', 'update');

  return (
    <section className="panel halted" aria-labelledby="halted-title">
      <h2 id="halted-title">Halted</h2>
      <p data-testid="halted-why">{why ?? 'A health gate stopped this event.'}</p>
      <p className="muted small">
        No new machine starts; machines already running finish. Resume reads the health gates again first;
        override skips them for the rest of this run; abort leaves the machines not started OMITTED.
      </p>
      <Field
        id="halt-reason"
        label="Reason"
        error={errors.at('reason')}
        hint="Required to override; recorded with an abort when given."
      >
        <textarea
          id="halt-reason"
          rows={2}
          maxLength={2000}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          aria-invalid={!!errors.at('reason')}
          aria-describedby={errors.at('reason') ? 'halt-reason-error' : undefined}
        />
      </Field>
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={!allowed || pending}
          title={deny}
          onClick={() => act.mutate('resume')}
        >
          {pending && act.variables === 'resume' ? 'Resuming…' : 'Resume'}
        </button>
        <button
          type="button"
          disabled={!allowed || pending}
          title={deny}
          onClick={() => act.mutate('override')}
        >
          {pending && act.variables === 'override' ? 'Overriding…' : 'Override the gates'}
        </button>
        <ConfirmButton
          label="Abort"
          className="danger"
          confirm="Machines not started become OMITTED; running ones finish."
          disabled={!allowed || pending}
          title={deny}
          onConfirm={() => act.mutate('abort')}
        />
      </div>
      <ErrorBox error={act.error} fieldsShown={errors.any} />
    </section>
  );
}
