import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, listAll } from '../api';
import { useAuth } from '../auth';
import type { HookDef, Machine, NotificationGroup, Plan, PlanMachine } from '../types';
import { Empty, ErrorBox, Field, Loading } from '../components/ui';
import { CronField, HooksEditor, fieldErrors, numOrUndef } from '../components/forms';

export function HookList({ hooks }: { hooks: HookDef[] }) {
  if (!hooks.length) return <p className="muted">none</p>;
  return (
    <ol className="hooks-list">
      {hooks.map((h, i) => (
        <li key={i} className="mono small">
          {h.type}
          {'method' in h ? ` ${h.method}` : ''}: {h.source}
        </li>
      ))}
    </ol>
  );
}

interface Draft {
  name: string;
  description: string;
  cron: string;
  window_hours: string;
  mode: 'static' | 'dynamic';
  machines: PlanMachine[];
  dynamic: string;
  pre_hooks: HookDef[];
  post_hooks: HookDef[];
  notification_groups: string[];
  max_concurrency: string;
  max_errors: string;
  /** Comma-separated cumulative percentages; empty = the machines' order. */
  waves: string;
  /** Empty = by hash. */
  wave_tag: string;
  max_unavailable_tag: string;
  max_unavailable: string;
  enabled: boolean;
}

function draftOf(p?: Plan): Draft {
  return {
    name: p?.name ?? '',
    description: p?.description ?? '',
    cron: p?.cron ?? '0 3 * * 0',
    window_hours: String(p?.window_hours ?? 2),
    mode: p?.dynamic ? 'dynamic' : 'static',
    machines: p?.machines ?? [],
    dynamic: p?.dynamic
      ? JSON.stringify(p.dynamic, null, 2)
      : JSON.stringify([{ tags: { Env: ['prod'] }, regions: ['us-east-1'] }], null, 2),
    pre_hooks: p?.pre_hooks ?? [],
    post_hooks: p?.post_hooks ?? [],
    notification_groups: p?.notification_groups ?? [],
    max_concurrency: p?.max_concurrency ? String(p.max_concurrency) : '',
    max_errors: p?.max_errors ? String(p.max_errors) : '',
    waves: p?.waves ? p.waves.join(', ') : '',
    wave_tag: p?.wave_by && p.wave_by !== 'hash' ? p.wave_by.tag : '',
    max_unavailable_tag: p?.max_unavailable?.tag ?? '',
    max_unavailable: p?.max_unavailable ? String(p.max_unavailable.max) : '',
    enabled: p?.enabled ?? true,
  };
}

function bodyOf(d: Draft): Record<string, unknown> {
  let dynamic: unknown = d.dynamic;
  try {
    dynamic = JSON.parse(d.dynamic);
  } catch {
    /* sent as text: the API names the field */
  }
  return {
    name: d.name,
    ...(d.description.trim() ? { description: d.description } : {}),
    cron: d.cron,
    window_hours: numOrUndef(d.window_hours),
    ...(d.mode === 'static' ? { machines: d.machines } : { dynamic }),
    pre_hooks: d.pre_hooks,
    post_hooks: d.post_hooks,
    notification_groups: d.notification_groups,
    ...(d.max_concurrency ? { max_concurrency: numOrUndef(d.max_concurrency) } : {}),
    ...(d.max_errors ? { max_errors: numOrUndef(d.max_errors) } : {}),
    ...(d.waves.trim()
      ? {
          // A value that is not a number is sent as text: the API names the field.
          waves: d.waves.split(',').map((w) => (w.trim() === '' || isNaN(Number(w)) ? w.trim() : Number(w))),
          ...(d.wave_tag.trim() ? { wave_by: { tag: d.wave_tag.trim() } } : {}),
        }
      : {}),
    ...(d.max_unavailable_tag.trim() || d.max_unavailable
      ? { max_unavailable: { tag: d.max_unavailable_tag.trim(), max: numOrUndef(d.max_unavailable) } }
      : {}),
    enabled: d.enabled,
  };
}

/**
 * The optional fields this form edits: cleared in the form, they are removed (`null` in the merge patch).
 * Everything else the plan has and the form does not show (health gates, freeze rule, promotion, patch
 * settings, …) is not in the patch, so saving the form keeps it. A PUT of the form's fields would drop it.
 */
const FORM_OPTIONAL = ['description', 'max_concurrency', 'max_errors', 'waves', 'wave_by', 'max_unavailable'];

/** An edit as a JSON merge patch: the form's fields, and `null` for those it cleared. */
function patchOf(d: Draft): Record<string, unknown> {
  const body = bodyOf(d);
  const cleared = [...FORM_OPTIONAL, d.mode === 'static' ? 'dynamic' : 'machines'].filter(
    (k) => !(k in body),
  );
  return { ...body, ...Object.fromEntries(cleared.map((k) => [k, null])) };
}

export function PlanEdit() {
  const { id } = useParams();
  const plan = useQuery({
    queryKey: ['plan', id],
    queryFn: () => api<Plan>('GET', `/plans/${id}`),
    enabled: !!id,
  });
  if (id && plan.isPending) return <Loading what="the plan" />;
  if (plan.error) return <ErrorBox error={plan.error} />;
  return <PlanForm key={id ?? 'new'} plan={plan.data} />;
}

function PlanForm({ plan }: { plan?: Plan }) {
  const { can } = useAuth();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [d, setD] = useState<Draft>(() => draftOf(plan));
  const [hostOpen, setHostOpen] = useState<string | null>(null);
  // Editing a field clears the last refusal, so a corrected field does not keep showing the old message.
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => {
    if (save.error) save.reset();
    setD((x) => ({ ...x, [k]: v }));
  };
  const machines = useQuery({
    queryKey: ['machines', 'all'],
    queryFn: () => listAll<Machine>('/machines'),
    enabled: can('machine', 'list'),
  });
  const groups = useQuery({
    queryKey: ['groups', 'all'],
    queryFn: () => listAll<NotificationGroup>('/notification-groups'),
    enabled: can('notification_group', 'list'),
  });
  const save = useMutation({
    mutationFn: () =>
      plan ? api<Plan>('PATCH', `/plans/${plan.id}`, patchOf(d)) : api<Plan>('POST', '/plans', bodyOf(d)),
    onSuccess: (p) => {
      void qc.invalidateQueries({ queryKey: ['plans'] });
      void qc.invalidateQueries({ queryKey: ['plan', p.id] });
      void qc.invalidateQueries({ queryKey: ['events'] });
      navigate(`/plans/${p.id}`);
    },
  });
  const { at, any } = fieldErrors(save.error);
  const selected = new Map(d.machines.map((m) => [m.machine_id, m]));
  const setMachine = (id: string, m: PlanMachine | null) =>
    set(
      'machines',
      m
        ? selected.has(id)
          ? d.machines.map((x) => (x.machine_id === id ? m : x))
          : [...d.machines, m]
        : d.machines.filter((x) => x.machine_id !== id),
    );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };

  return (
    <section aria-labelledby="plan-form-title">
      <p className="small">
        <Link to={plan ? `/plans/${plan.id}` : '/plans'}>← {plan ? plan.name : 'Plans'}</Link>
      </p>
      <h1 id="plan-form-title">{plan ? `Edit ${plan.name}` : 'New plan'}</h1>
      <form className="edit" onSubmit={submit} noValidate>
        <Field id="plan-name" label="Name" error={at('name')}>
          <input id="plan-name" type="text" value={d.name} onChange={(e) => set('name', e.target.value)} />
        </Field>
        <Field id="plan-description" label="Description" error={at('description')}>
          <textarea
            id="plan-description"
            value={d.description}
            onChange={(e) => set('description', e.target.value)}
          />
        </Field>
        <CronField id="plan-cron" value={d.cron} onChange={(v) => set('cron', v)} error={at('cron')} />
        <Field
          id="plan-window"
          label="Window (hours)"
          error={at('window_hours')}
          hint="How long each event may run; 0.5 = 30 minutes."
        >
          <input
            id="plan-window"
            type="number"
            step="any"
            min="0"
            value={d.window_hours}
            onChange={(e) => set('window_hours', e.target.value)}
          />
        </Field>
        <Field id="plan-mode" label="Machines" error={at('machines') ?? at('dynamic')} group>
          <div className="row" role="radiogroup" aria-label="How the plan picks machines">
            <label className="check">
              <input type="radio" checked={d.mode === 'static'} onChange={() => set('mode', 'static')} />A
              list of machines
            </label>
            <label className="check">
              <input type="radio" checked={d.mode === 'dynamic'} onChange={() => set('mode', 'dynamic')} />
              By tags when the event starts (dynamic)
            </label>
          </div>
          {d.mode === 'dynamic' ? (
            <textarea
              aria-label="Dynamic selectors (JSON)"
              className="mono"
              rows={8}
              value={d.dynamic}
              onChange={(e) => set('dynamic', e.target.value)}
            />
          ) : !can('machine', 'list') ? (
            <p className="muted">This key may not list machines.</p>
          ) : machines.isPending ? (
            <Loading what="machines" />
          ) : !machines.data?.length ? (
            <Empty>
              No machines registered. <Link to="/machines/new">Register a machine</Link> first.
            </Empty>
          ) : (
            <table className="grid picker">
              <thead>
                <tr>
                  <th scope="col">Include</th>
                  <th scope="col">Machine</th>
                  <th scope="col">Order</th>
                  <th scope="col">Host hooks</th>
                </tr>
              </thead>
              <tbody>
                {machines.data.map((m) => {
                  const pm = selected.get(m.id);
                  return (
                    <tr key={m.id}>
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`Include ${m.name}`}
                          checked={!!pm}
                          onChange={(e) =>
                            setMachine(
                              m.id,
                              e.target.checked
                                ? { machine_id: m.id, order: 0, pre_host_hooks: [], post_host_hooks: [] }
                                : null,
                            )
                          }
                        />
                      </td>
                      <td>
                        {m.name} <span className="mono small muted">{m.access.ssm_machine_id}</span>
                      </td>
                      <td>
                        {pm && (
                          <input
                            type="number"
                            min="0"
                            aria-label={`Order of ${m.name}`}
                            className="narrow"
                            value={pm.order}
                            onChange={(e) => setMachine(m.id, { ...pm, order: Number(e.target.value) })}
                          />
                        )}
                      </td>
                      <td>
                        {pm && (
                          <>
                            <button
                              type="button"
                              aria-expanded={hostOpen === m.id}
                              onClick={() => setHostOpen(hostOpen === m.id ? null : m.id)}
                            >
                              {pm.pre_host_hooks.length} pre · {pm.post_host_hooks.length} post
                            </button>
                            {hostOpen === m.id && (
                              <div className="host-hooks">
                                <HooksEditor
                                  id={`host-pre-${m.id}`}
                                  label="Pre host hooks"
                                  allowScript
                                  hooks={pm.pre_host_hooks}
                                  onChange={(h) => setMachine(m.id, { ...pm, pre_host_hooks: h })}
                                />
                                <HooksEditor
                                  id={`host-post-${m.id}`}
                                  label="Post host hooks"
                                  allowScript
                                  hooks={pm.post_host_hooks}
                                  onChange={(h) => setMachine(m.id, { ...pm, post_host_hooks: h })}
                                />
                              </div>
                            )}
                          </>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
          <div className="hint">
            Lower orders go first; machines with the same order are patched together.
          </div>
        </Field>
        <HooksEditor
          id="plan-pre"
          label="Pre hooks"
          hooks={d.pre_hooks}
          onChange={(h) => set('pre_hooks', h)}
          error={at('pre_hooks')}
        />
        <HooksEditor
          id="plan-post"
          label="Post hooks"
          hooks={d.post_hooks}
          onChange={(h) => set('post_hooks', h)}
          error={at('post_hooks')}
        />
        {can('notification_group', 'list') && (
          <Field id="plan-groups" label="Notification groups" error={at('notification_groups')} group>
            {groups.data?.length ? (
              groups.data.map((g) => (
                <label key={g.id} className="check block">
                  <input
                    type="checkbox"
                    checked={d.notification_groups.includes(g.id)}
                    onChange={(e) =>
                      set(
                        'notification_groups',
                        e.target.checked
                          ? [...d.notification_groups, g.id]
                          : d.notification_groups.filter((x) => x !== g.id),
                      )
                    }
                  />
                  {g.name}
                </label>
              ))
            ) : (
              <span className="muted">No notification groups yet.</span>
            )}
          </Field>
        )}
        <Field
          id="plan-concurrency"
          label="Max concurrency"
          error={at('max_concurrency')}
          hint="Machines patched at once in one order group; empty = no limit."
        >
          <input
            id="plan-concurrency"
            type="number"
            min="1"
            value={d.max_concurrency}
            onChange={(e) => set('max_concurrency', e.target.value)}
          />
        </Field>
        <Field
          id="plan-errors"
          label="Max errors"
          error={at('max_errors')}
          hint="Stop starting machines after this many failures; empty = no limit."
        >
          <input
            id="plan-errors"
            type="number"
            min="1"
            value={d.max_errors}
            onChange={(e) => set('max_errors', e.target.value)}
          />
        </Field>
        <Field
          id="plan-waves"
          label="Waves (%)"
          error={at('waves')}
          hint="Cumulative percentages ending at 100, e.g. 1, 10, 50, 100; each wave is an order group (machine orders stay 0). Empty = the machines' order."
        >
          <input
            id="plan-waves"
            value={d.waves}
            placeholder="1, 10, 50, 100"
            onChange={(e) => set('waves', e.target.value)}
          />
        </Field>
        <Field
          id="plan-wave-tag"
          label="Waves by tag"
          error={at('wave_by')}
          hint="Order machines into waves by this metadata key's value; empty = a stable hash of the machine ID."
        >
          <input id="plan-wave-tag" value={d.wave_tag} onChange={(e) => set('wave_tag', e.target.value)} />
        </Field>
        <Field
          id="plan-max-unavailable-tag"
          label="Max unavailable: tag"
          error={at('max_unavailable.tag')}
          hint="At most N machines sharing a value of this metadata key patched at once (e.g. Service); empty = no such limit."
        >
          <input
            id="plan-max-unavailable-tag"
            value={d.max_unavailable_tag}
            onChange={(e) => set('max_unavailable_tag', e.target.value)}
          />
        </Field>
        <Field id="plan-max-unavailable" label="Max unavailable: N" error={at('max_unavailable.max')}>
          <input
            id="plan-max-unavailable"
            type="number"
            min="1"
            value={d.max_unavailable}
            onChange={(e) => set('max_unavailable', e.target.value)}
          />
        </Field>
        <Field
          id="plan-enabled"
          label="Enabled"
          error={at('enabled')}
          hint="A disabled plan creates no scheduled events (Run now still works)."
        >
          <input
            id="plan-enabled"
            type="checkbox"
            checked={d.enabled}
            onChange={(e) => set('enabled', e.target.checked)}
          />
        </Field>
        <ErrorBox error={save.error} fieldsShown={any} />
        <div className="form-actions">
          <button type="submit" className="primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : plan ? 'Save plan' : 'Create plan'}
          </button>
          <Link className="button" to={plan ? `/plans/${plan.id}` : '/plans'}>
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
