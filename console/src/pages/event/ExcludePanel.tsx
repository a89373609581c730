import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { api, listAll } from '../../api';
import { useAuth } from '../../auth';
import type { EventDetail, Machine, Plan } from '../../types';
import { Empty, ErrorBox } from '../../components/ui';

/** Before an event starts: pick machines of its plan to leave out (they become EXCLUDED). */
export function ExcludePanel({
  event,
  plan,
  onDone,
}: {
  event: EventDetail;
  plan?: Plan;
  onDone: () => void;
}) {
  const { can } = useAuth();
  const machines = useQuery({
    queryKey: ['machines', 'all'],
    queryFn: () => listAll<Machine>('/machines'),
    enabled: can('machine', 'list'),
  });
  const already = new Set(event.excluded_machine_ids ?? []);
  const names = new Map((machines.data ?? []).map((m) => [m.id, m.name]));
  // The event's own machines once it has them; before that, the plan's static list.
  const candidates = event.machines.length
    ? event.machines.map((m) => ({ id: m.machine_id, name: m.name }))
    : (plan?.machines ?? []).map((m) => ({
        id: m.machine_id,
        name: names.get(m.machine_id) ?? m.machine_id,
      }));
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const save = useMutation({
    mutationFn: () =>
      api('POST', `/events/${encodeURIComponent(event.id)}/exclude`, { machine_ids: [...picked] }),
    onSuccess: onDone,
  });
  return (
    <form
      className="panel"
      aria-labelledby="exclude-title"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <h2 id="exclude-title">Exclude machines from this event</h2>
      {candidates.length === 0 ? (
        <Empty>
          {plan?.dynamic
            ? 'This plan picks its machines by tags when the event starts, so there is no list to exclude from yet.'
            : 'No machines to exclude.'}
        </Empty>
      ) : (
        <ul className="plain checks">
          {candidates.map((m) => (
            <li key={m.id}>
              <label className="check">
                <input
                  type="checkbox"
                  disabled={already.has(m.id)}
                  checked={already.has(m.id) || picked.has(m.id)}
                  onChange={(e) => {
                    const next = new Set(picked);
                    if (e.target.checked) next.add(m.id);
                    else next.delete(m.id);
                    setPicked(next);
                  }}
                />
                {m.name} {already.has(m.id) && <span className="muted">(excluded)</span>}
              </label>
            </li>
          ))}
        </ul>
      )}
      <ErrorBox error={save.error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={picked.size === 0 || save.isPending}>
          Exclude {picked.size || ''} machine{picked.size === 1 ? '' : 's'}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
