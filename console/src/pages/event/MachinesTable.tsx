import { Fragment, useState } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery } from '@tanstack/react-query';
import { ApiError, api, getText } from '../../api';
import { useAuth } from '../../auth';
import { Time, duration, machineLabel } from '../../format';
import { MANUAL_STATUSES, type EventDetail, type EventMachine } from '../../types';
import { FINISHED } from '../../format';
import { ErrorBox, MachineBadge, noPerm } from '../../components/ui';
import { workflowIds, workflowUrl } from '../../temporal';
import { HookRuns } from './HookRuns';

type Open = { machine: string; what: 'log' | 'status' | 'hooks' } | null;

export function MachinesTable({ event, onChanged }: { event: EventDetail; onChanged: () => void }) {
  const { me, can } = useAuth();
  const [open, setOpen] = useState<Open>(null);
  const finished = FINISHED.includes(event.status);
  const toggle = (machine: string, what: 'log' | 'status' | 'hooks') =>
    setOpen(open?.machine === machine && open.what === what ? null : { machine, what });
  const machines = [...event.machines].sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));

  return (
    <table className="grid machines">
      <thead>
        <tr>
          <th scope="col">Order</th>
          <th scope="col">Machine</th>
          <th scope="col">Status</th>
          <th scope="col">Started</th>
          <th scope="col">Ended</th>
          <th scope="col">Command ID</th>
          <th scope="col">Installed</th>
          <th scope="col">Reboot</th>
          <th scope="col">Reason</th>
          <th scope="col">
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {machines.map((m) => {
          const isOpen = open?.machine === m.machine_id ? open.what : null;
          const runUi = workflowUrl(me, workflowIds.machineRun(event.id, m.machine_id, m.run_no));
          const ownerUi = workflowUrl(me, workflowIds.commandOwner(m.machine_id));
          return (
            <Fragment key={m.machine_id}>
              <tr data-machine={m.machine_id}>
                <td className="num">{m.order}</td>
                <td>
                  <Link to={`/machines/${m.machine_id}`}>{m.name}</Link>
                  <div className="mono small muted">{m.ssm_machine_id}</div>
                </td>
                <td>
                  <MachineBadge status={m.status} />
                  {m.action_taken && <div className="small">Action taken: {m.action_taken}</div>}
                </td>
                <td>
                  <Time iso={m.started_at} seconds clock />
                </td>
                <td>
                  <Time iso={m.ended_at} seconds clock />
                  {m.started_at && <div className="small muted">{duration(m.started_at, m.ended_at)}</div>}
                </td>
                <td className="mono small">{m.command_id ?? <span className="muted">—</span>}</td>
                <td className="small">
                  {m.installed?.length ? (
                    <ul className="plain">
                      {m.installed.map((p) => (
                        <li key={p} className="mono">
                          {p}
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <span className="muted">{m.installed ? 'nothing' : '—'}</span>
                  )}
                </td>
                <td>
                  {m.rebooted === undefined ? (
                    <span className="muted">—</span>
                  ) : m.rebooted ? (
                    'rebooted'
                  ) : (
                    'no reboot'
                  )}
                </td>
                <td className="small">
                  {m.reason ?? ''}
                  {m.out_of_service && (
                    <div className="small muted" data-out-of-service>
                      Out of service:
                      {m.out_of_service.auto_scaling_group &&
                        ` Auto Scaling group ${m.out_of_service.auto_scaling_group} ${m.out_of_service.state ?? ''};`}
                      {(m.out_of_service.target_groups ?? []).map(
                        (g) =>
                          ` target group ${g.arn.split(':targetgroup/')[1]?.split('/')[0] ?? g.arn} ${g.state};`,
                      )}
                    </div>
                  )}
                </td>
                <td className="actions-cell">
                  {m.hooks.length > 0 && (
                    <button
                      type="button"
                      aria-expanded={isOpen === 'hooks'}
                      onClick={() => toggle(m.machine_id, 'hooks')}
                    >
                      Host hooks ({m.hooks.length})
                    </button>
                  )}
                  {can('update_log', 'get', event.id) && (
                    <button
                      type="button"
                      aria-expanded={isOpen === 'log'}
                      onClick={() => toggle(m.machine_id, 'log')}
                    >
                      Log
                    </button>
                  )}
                  {finished && (
                    <button
                      type="button"
                      aria-expanded={isOpen === 'status'}
                      disabled={!can('event', 'update', event.id)}
                      title={can('event', 'update', event.id) ? undefined : noPerm('event', 'update')}
                      onClick={() => toggle(m.machine_id, 'status')}
                    >
                      Change status
                    </button>
                  )}
                  {runUi && (
                    <a
                      href={runUi}
                      target="_blank"
                      rel="noreferrer"
                      title="This machine's run in the Temporal UI"
                    >
                      run ↗
                    </a>
                  )}
                  {ownerUi && (
                    <a
                      href={ownerUi}
                      target="_blank"
                      rel="noreferrer"
                      title="The machine's command owner in the Temporal UI"
                    >
                      owner ↗
                    </a>
                  )}
                </td>
              </tr>
              {isOpen && (
                <tr className="expanded">
                  <td colSpan={10}>
                    {isOpen === 'log' && <MachineLog eventId={event.id} machine={m} />}
                    {isOpen === 'hooks' && <HookRuns runs={m.hooks} />}
                    {isOpen === 'status' && (
                      <ManualStatusForm
                        eventId={event.id}
                        machine={m}
                        onDone={() => {
                          setOpen(null);
                          onChanged();
                        }}
                      />
                    )}
                  </td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </tbody>
    </table>
  );
}

function MachineLog({ eventId, machine }: { eventId: string; machine: EventMachine }) {
  const log = useQuery({
    queryKey: ['log', eventId, machine.machine_id, machine.status],
    queryFn: () => getText(`/events/${encodeURIComponent(eventId)}/machines/${machine.machine_id}/log`),
  });
  if (log.isPending) return <div className="loading">Loading the log of {machine.name}…</div>;
  if (log.error instanceof ApiError && log.error.status === 404)
    return (
      <div className="muted">
        No log yet for {machine.name}: it appears once its patch command has finished.
      </div>
    );
  if (log.error) return <ErrorBox error={log.error} />;
  return (
    <section aria-label={`Log of ${machine.name}`}>
      <h3>Log of {machine.name}</h3>
      <pre className="output log">{log.data || '(empty)'}</pre>
    </section>
  );
}

function ManualStatusForm({
  eventId,
  machine,
  onDone,
}: {
  eventId: string;
  machine: EventMachine;
  onDone: () => void;
}) {
  const [status, setStatus] = useState<string>('SUCCESS_MANUAL');
  const [action, setAction] = useState(machine.action_taken ?? '');
  const save = useMutation({
    mutationFn: () =>
      api('POST', `/events/${encodeURIComponent(eventId)}/machines/${machine.machine_id}/status`, {
        manual_status: status,
        ...(action.trim() ? { action_taken: action.trim() } : {}),
      }),
    onSuccess: onDone,
  });
  const fields = save.error instanceof ApiError ? save.error.fields() : {};
  const needsAction = status === 'SUCCESS_MANUAL' || status === 'FAILED_MANUAL';
  return (
    <form
      className="inline-form"
      aria-label={`Change the status of ${machine.name}`}
      onSubmit={(ev) => {
        ev.preventDefault();
        save.mutate();
      }}
    >
      <h3>Change the status of {machine.name}</h3>
      <div className="row">
        <label htmlFor={`ms-${machine.machine_id}`}>Manual status</label>
        <select
          id={`ms-${machine.machine_id}`}
          value={status}
          onChange={(e) => {
            if (save.error) save.reset();
            setStatus(e.target.value);
          }}
        >
          {MANUAL_STATUSES.map((s) => (
            <option key={s} value={s}>
              {machineLabel(s)}
            </option>
          ))}
        </select>
        {fields.manual_status && <span className="field-error">{fields.manual_status}</span>}
      </div>
      <div className="row">
        <label htmlFor={`at-${machine.machine_id}`}>Action taken{needsAction ? ' (required)' : ''}</label>
        <textarea
          id={`at-${machine.machine_id}`}
          value={action}
          onChange={(e) => {
            if (save.error) save.reset();
            setAction(e.target.value);
          }}
          placeholder="What was done by hand, e.g. installed KB5030211 and rebooted"
          aria-invalid={fields.action_taken ? true : undefined}
        />
      </div>
      {fields.action_taken && (
        <div className="field-error" role="alert">
          Action taken {fields.action_taken}
        </div>
      )}
      <p className="hint">
        In progress manual and Rebooting manual put the event back to In progress until the machine is marked
        Success manual or Failed manual.
      </p>
      <ErrorBox error={save.error} fieldsShown={Object.keys(fields).length > 0} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Set status'}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
