import { Fragment, useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { ApiError, api } from '../../api';
import type { EventDetail, HookDef, Plan } from '../../types';
import { ErrorBox, MachineBadge } from '../../components/ui';

/**
 * RUN PARTIAL PATCHING (seed 001): everything is included by default — all machines, the global pre and post
 * hooks, every machine's host hooks — and the operator removes what should not run again, hook by hook. The
 * edit button to the left of a machine opens its own choices (each of its pre and post host hooks).
 *
 * Hooks are named by position (pre_0, post_1, pre_host_0, …), as the API names them; the lists come from the
 * plan as it is now, and the API checks the names against the event's own snapshot (a 400 shows in place).
 */

type Phase = 'pre' | 'post' | 'pre_host' | 'post_host';

/** What the API takes for one phase: true = all, false = none, or the chosen names. */
function choice(phase: Phase, hooks: HookDef[] | undefined, removed: Set<string>): boolean | string[] {
  if (!hooks) return removed.has(`${phase}_*`) ? false : true;
  const names = hooks.map((_, i) => `${phase}_${i}`);
  const kept = names.filter((n) => !removed.has(n));
  if (kept.length === names.length) return true;
  return kept.length === 0 ? false : kept;
}

/** One checkbox per hook of a phase (or one for all of them when the plan's list is not known). */
function HookChecks({
  phase,
  hooks,
  removed,
  onToggle,
  label,
}: {
  phase: Phase;
  hooks: HookDef[] | undefined;
  removed: Set<string>;
  onToggle: (name: string, keep: boolean) => void;
  label: string;
}) {
  if (!hooks)
    return (
      <label className="check">
        <input
          type="checkbox"
          checked={!removed.has(`${phase}_*`)}
          onChange={(e) => onToggle(`${phase}_*`, e.target.checked)}
        />
        {label} (all)
      </label>
    );
  if (hooks.length === 0) return <span className="muted">{label}: none</span>;
  return (
    <span className="hook-checks">
      {hooks.map((h, i) => {
        const name = `${phase}_${i}`;
        return (
          <label className="check" key={name} title={h.source}>
            <input
              type="checkbox"
              checked={!removed.has(name)}
              onChange={(e) => onToggle(name, e.target.checked)}
            />
            {label} {i + 1}{' '}
            <span className="muted small">
              ({name} · {h.name ?? h.type})
            </span>
          </label>
        );
      })}
    </span>
  );
}

function toggled(set: Set<string>, name: string, keep: boolean): Set<string> {
  const next = new Set(set);
  if (keep) next.delete(name);
  else next.add(name);
  return next;
}
export function PartialPanel({
  event,
  plan,
  onDone,
}: {
  event: EventDetail;
  plan?: Plan;
  onDone: () => void;
}) {
  const machines = [...event.machines].sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
  const [selected, setSelected] = useState<Set<string>>(() => new Set(machines.map((m) => m.machine_id)));
  // Hook names left out of the partial run (all included by default).
  const [removedGlobal, setRemovedGlobal] = useState<Set<string>>(() => new Set());
  const [removedHost, setRemovedHost] = useState<Record<string, Set<string>>>({});
  const [editing, setEditing] = useState<string | null>(null);

  const removedOf = (id: string) => removedHost[id] ?? new Set<string>();
  const planMachine = (id: string) => plan?.machines?.find((m) => m.machine_id === id);
  const hostChoice = (id: string) => {
    const pm = planMachine(id);
    return {
      pre: choice('pre_host', pm?.pre_host_hooks, removedOf(id)),
      post: choice('post_host', pm?.post_host_hooks, removedOf(id)),
    };
  };

  const run = useMutation({
    mutationFn: () => {
      const machine_ids = machines.map((m) => m.machine_id).filter((id) => selected.has(id));
      const host_hooks: Record<string, { pre?: boolean | string[]; post?: boolean | string[] }> = {};
      for (const id of machine_ids) {
        const h = hostChoice(id);
        if (h.pre !== true || h.post !== true) host_hooks[id] = h;
      }
      return api('POST', `/events/${encodeURIComponent(event.id)}/partial`, {
        ...(machine_ids.length === machines.length ? {} : { machine_ids }),
        pre_hooks: choice('pre', plan?.pre_hooks, removedGlobal),
        post_hooks: choice('post', plan?.post_hooks, removedGlobal),
        ...(Object.keys(host_hooks).length ? { host_hooks } : {}),
      });
    },
    onSuccess: onDone,
  });
  const fields = run.error instanceof ApiError ? run.error.fields() : {};

  return (
    <form
      className="panel partial"
      aria-labelledby="partial-title"
      onSubmit={(e) => {
        e.preventDefault();
        run.mutate();
      }}
    >
      <h2 id="partial-title">Run partial patching</h2>
      <p className="muted">
        Everything is included by default. Remove what should not run again; the event is In progress until
        the partial run finishes, and its report then shows each machine's last run.
      </p>
      <fieldset>
        <legend>Global hooks</legend>
        <div>
          <HookChecks
            phase="pre"
            hooks={plan?.pre_hooks}
            removed={removedGlobal}
            label="Pre hook"
            onToggle={(n, keep) => setRemovedGlobal(toggled(removedGlobal, n, keep))}
          />
        </div>
        <div>
          <HookChecks
            phase="post"
            hooks={plan?.post_hooks}
            removed={removedGlobal}
            label="Post hook"
            onToggle={(n, keep) => setRemovedGlobal(toggled(removedGlobal, n, keep))}
          />
        </div>
        {(fields.pre_hooks || fields.post_hooks) && (
          <div className="field-error">{fields.pre_hooks ?? fields.post_hooks}</div>
        )}
      </fieldset>
      <fieldset>
        <legend>Machines</legend>
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">
                <span className="sr-only">Edit</span>
              </th>
              <th scope="col">Include</th>
              <th scope="col">Machine</th>
              <th scope="col">Last status</th>
              <th scope="col">Host hooks</th>
            </tr>
          </thead>
          <tbody>
            {machines.map((m) => {
              const h = hostChoice(m.machine_id);
              const pm = planMachine(m.machine_id);
              const summary = (c: boolean | string[], what: string) =>
                c === true ? `all ${what}` : c === false ? `no ${what}` : `${what} ${c.join(', ')}`;
              const include = selected.has(m.machine_id);
              return (
                <Fragment key={m.machine_id}>
                  <tr data-machine={m.machine_id}>
                    <td>
                      <button
                        type="button"
                        aria-label={`Edit the partial options of ${m.name}`}
                        aria-expanded={editing === m.machine_id}
                        disabled={!include}
                        onClick={() => setEditing(editing === m.machine_id ? null : m.machine_id)}
                      >
                        ✎
                      </button>
                    </td>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Include ${m.name}`}
                        checked={include}
                        onChange={(e) => {
                          const next = new Set(selected);
                          if (e.target.checked) next.add(m.machine_id);
                          else next.delete(m.machine_id);
                          setSelected(next);
                        }}
                      />
                    </td>
                    <td>{m.name}</td>
                    <td>
                      <MachineBadge status={m.status} />
                    </td>
                    <td className="small">
                      {h.pre === true && h.post === true
                        ? 'all'
                        : `${summary(h.pre, 'pre')}; ${summary(h.post, 'post')}`}
                      {pm && (
                        <span className="muted">
                          {' '}
                          ({pm.pre_host_hooks.length} pre, {pm.post_host_hooks.length} post)
                        </span>
                      )}
                    </td>
                  </tr>
                  {editing === m.machine_id && include && (
                    <tr className="expanded">
                      <td colSpan={5}>
                        <fieldset>
                          <legend>Host hooks of {m.name}</legend>
                          <div>
                            <HookChecks
                              phase="pre_host"
                              hooks={pm?.pre_host_hooks}
                              removed={removedOf(m.machine_id)}
                              label="Pre host hook"
                              onToggle={(n, keep) =>
                                setRemovedHost({
                                  ...removedHost,
                                  [m.machine_id]: toggled(removedOf(m.machine_id), n, keep),
                                })
                              }
                            />
                          </div>
                          <div>
                            <HookChecks
                              phase="post_host"
                              hooks={pm?.post_host_hooks}
                              removed={removedOf(m.machine_id)}
                              label="Post host hook"
                              onToggle={(n, keep) =>
                                setRemovedHost({
                                  ...removedHost,
                                  [m.machine_id]: toggled(removedOf(m.machine_id), n, keep),
                                })
                              }
                            />
                          </div>
                        </fieldset>
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
        {fields.machine_ids && <div className="field-error">{fields.machine_ids}</div>}
      </fieldset>
      <ErrorBox error={run.error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={run.isPending || selected.size === 0}>
          {run.isPending
            ? 'Starting…'
            : `Run partial patching (${selected.size} machine${selected.size === 1 ? '' : 's'})`}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
