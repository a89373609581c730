import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, listAll } from '../api';
import { useAuth } from '../auth';
import type { Pipeline, PipelineStep, Plan } from '../types';
import { ConfirmButton, Empty, ErrorBox, Field, Loading, noPerm } from '../components/ui';
import { CronField, NextRun, fieldErrors } from '../components/forms';
import { DataTable } from '../components/DataTable';

const POLICY: Record<PipelineStep['policy'], string> = {
  always: 'always runs',
  success: 'runs if the earlier steps succeeded, else deleted',
  success_or_approval: 'runs if the earlier steps succeeded, else waits for approval',
  approval: 'waits for approval',
};

export function Pipelines() {
  const { can } = useAuth();
  const pipelines = useQuery({
    queryKey: ['pipelines', 'all'],
    queryFn: () => listAll<Pipeline>('/pipelines'),
  });
  return (
    <section aria-labelledby="pipelines-title">
      <div className="page-head">
        <h1 id="pipelines-title">Pipelines</h1>
        <div className="actions">
          {can('pipeline', 'create') && (
            <Link className="button primary" to="/pipelines/new">
              New pipeline
            </Link>
          )}
        </div>
      </div>
      <ErrorBox error={pipelines.error} />
      {pipelines.isPending ? (
        <Loading what="pipelines" />
      ) : !pipelines.data?.length ? (
        <Empty>
          No pipelines yet. A pipeline chains plans in steps (dev, then prod after success or approval).{' '}
          {can('pipeline', 'create') && <Link to="/pipelines/new">Create a pipeline</Link>}
        </Empty>
      ) : (
        <DataTable
          rows={pipelines.data}
          rowKey={(p) => p.id}
          columns={[
            { header: 'Name', cell: (p) => <Link to={`/pipelines/${p.id}`}>{p.name}</Link> },
            { header: 'Schedule (UTC)', cell: (p) => p.cron, className: 'mono' },
            { header: 'Next run', cell: (p) => <NextRun cron={p.cron} /> },
            { header: 'Steps', cell: (p) => p.steps.map((s, i) => s.name ?? `step ${i + 1}`).join(' → ') },
            { header: 'Enabled', cell: (p) => (p.enabled ? 'yes' : 'no') },
          ]}
        />
      )}
    </section>
  );
}

export function PipelineView() {
  const { id = '' } = useParams();
  const { can } = useAuth();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const p = useQuery({ queryKey: ['pipeline', id], queryFn: () => api<Pipeline>('GET', `/pipelines/${id}`) });
  const plans = useQuery({
    queryKey: ['plans', 'all'],
    queryFn: () => listAll<Plan>('/plans'),
    enabled: can('plan', 'list'),
  });
  const execute = useMutation({
    mutationFn: () => api<{ run_id: string; event_ids: string[] }>('POST', `/pipelines/${id}/execute`),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['events'] });
      navigate(`/events?view=list&pipeline_id=${id}`);
    },
  });
  const remove = useMutation({
    mutationFn: () => api('DELETE', `/pipelines/${id}`),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['pipelines'] });
      navigate('/pipelines');
    },
  });
  if (p.isPending) return <Loading what="the pipeline" />;
  if (p.error) return <ErrorBox error={p.error} />;
  const x = p.data;
  const names = new Map((plans.data ?? []).map((pl) => [pl.id, pl.name]));
  return (
    <section aria-labelledby="pipeline-title">
      <p className="small">
        <Link to="/pipelines">← Pipelines</Link>
      </p>
      <div className="page-head">
        <h1 id="pipeline-title">{x.name}</h1>
        <div className="actions">
          <button
            type="button"
            className="primary"
            disabled={!can('pipeline', 'execute', x.id) || execute.isPending}
            title={can('pipeline', 'execute', x.id) ? 'Starts a run now' : noPerm('pipeline', 'execute')}
            onClick={() => execute.mutate()}
          >
            Run now
          </button>
          {can('pipeline', 'update', x.id) && (
            <Link className="button" to={`/pipelines/${x.id}/edit`}>
              Edit
            </Link>
          )}
          <ConfirmButton
            label="Delete"
            className="danger"
            confirm="Delete this pipeline?"
            disabled={!can('pipeline', 'delete', x.id)}
            onConfirm={() => remove.mutate()}
          />
        </div>
      </div>
      <ErrorBox error={execute.error ?? remove.error} />
      <div className="panel">
        <dl className="kv">
          <dt>Id</dt>
          <dd className="mono">{x.id}</dd>
          <dt>Schedule</dt>
          <dd className="mono">{x.cron} (UTC)</dd>
        </dl>
      </div>
      <ol className="steps">
        {x.steps.map((s, i) => (
          <li key={i} className="panel">
            <strong>{s.name ?? `Step ${i + 1}`}</strong> · +{s.offset_hours} h · {POLICY[s.policy]}
            <div>
              {s.plans.map((pl) => (
                <Link key={pl} to={`/plans/${pl}`} className="chip">
                  {names.get(pl) ?? pl}
                </Link>
              ))}
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}

export function PipelineEdit() {
  const { id } = useParams();
  const p = useQuery({
    queryKey: ['pipeline', id],
    queryFn: () => api<Pipeline>('GET', `/pipelines/${id}`),
    enabled: !!id,
  });
  if (id && p.isPending) return <Loading what="the pipeline" />;
  if (p.error) return <ErrorBox error={p.error} />;
  return <PipelineForm key={id ?? 'new'} pipeline={p.data} />;
}

function PipelineForm({ pipeline }: { pipeline?: Pipeline }) {
  const { can } = useAuth();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const plans = useQuery({
    queryKey: ['plans', 'all'],
    queryFn: () => listAll<Plan>('/plans'),
    enabled: can('plan', 'list'),
  });
  const [name, setName] = useState(pipeline?.name ?? '');
  const [cron, setCron] = useState(pipeline?.cron ?? '0 1 * * 1');
  const [enabled, setEnabled] = useState(pipeline?.enabled ?? true);
  const [steps, setSteps] = useState<PipelineStep[]>(
    pipeline?.steps ?? [{ name: 'dev', plans: [], policy: 'always', offset_hours: 0 }],
  );
  const setStep = (i: number, s: Partial<PipelineStep>) =>
    setSteps(steps.map((x, j) => (j === i ? { ...x, ...s } : x)));
  const save = useMutation({
    mutationFn: () => {
      const body = {
        name,
        cron,
        enabled,
        steps,
        notification_groups: pipeline?.notification_groups ?? [],
        ...(pipeline?.description ? { description: pipeline.description } : {}),
      };
      return pipeline
        ? api<Pipeline>('PUT', `/pipelines/${pipeline.id}`, body)
        : api<Pipeline>('POST', '/pipelines', body);
    },
    onSuccess: (p) => {
      void qc.invalidateQueries({ queryKey: ['pipelines'] });
      void qc.invalidateQueries({ queryKey: ['pipeline', p.id] });
      navigate(`/pipelines/${p.id}`);
    },
  });
  const { at, any } = fieldErrors(save.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <section aria-labelledby="pipeline-form-title">
      <h1 id="pipeline-form-title">{pipeline ? `Edit ${pipeline.name}` : 'New pipeline'}</h1>
      <form className="edit" onSubmit={submit} noValidate>
        <Field id="pp-name" label="Name" error={at('name')}>
          <input id="pp-name" type="text" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <CronField id="pp-cron" value={cron} onChange={setCron} error={at('cron')} />
        {steps.map((s, i) => (
          <fieldset key={i}>
            <legend>Step {i + 1}</legend>
            <Field id={`pp-step-${i}-name`} label="Step name" error={at(`steps.${i}.name`)}>
              <input
                id={`pp-step-${i}-name`}
                type="text"
                value={s.name ?? ''}
                onChange={(e) => setStep(i, { name: e.target.value || undefined })}
              />
            </Field>
            <Field id={`pp-step-${i}-plans`} label="Plans" error={at(`steps.${i}.plans`)} group>
              {(plans.data ?? []).map((pl) => (
                <label key={pl.id} className="check block">
                  <input
                    type="checkbox"
                    checked={s.plans.includes(pl.id)}
                    onChange={(e) =>
                      setStep(i, {
                        plans: e.target.checked ? [...s.plans, pl.id] : s.plans.filter((x) => x !== pl.id),
                      })
                    }
                  />
                  {pl.name}
                </label>
              ))}
              {plans.data?.length === 0 && <span className="muted">No plans yet: create plans first.</span>}
            </Field>
            <Field id={`pp-step-${i}-policy`} label="Policy" error={at(`steps.${i}.policy`)}>
              <select
                id={`pp-step-${i}-policy`}
                value={s.policy}
                onChange={(e) => setStep(i, { policy: e.target.value as PipelineStep['policy'] })}
              >
                {Object.entries(POLICY).map(([k, v]) => (
                  <option key={k} value={k}>
                    {k}: {v}
                  </option>
                ))}
              </select>
            </Field>
            <Field
              id={`pp-step-${i}-offset`}
              label="Offset (hours)"
              error={at(`steps.${i}.offset_hours`)}
              hint="After the run's start."
            >
              <input
                id={`pp-step-${i}-offset`}
                type="number"
                min="0"
                step="any"
                value={s.offset_hours}
                onChange={(e) => setStep(i, { offset_hours: Number(e.target.value) })}
              />
            </Field>
            {steps.length > 1 && (
              <button type="button" onClick={() => setSteps(steps.filter((_, j) => j !== i))}>
                Remove step {i + 1}
              </button>
            )}
          </fieldset>
        ))}
        {at('steps') && !steps.some((_, i) => at(`steps.${i}`)) && (
          <div className="field-error">{at('steps')}</div>
        )}
        <button
          type="button"
          onClick={() => setSteps([...steps, { plans: [], policy: 'success_or_approval', offset_hours: 24 }])}
        >
          Add a step
        </button>
        <Field id="pp-enabled" label="Enabled" error={at('enabled')}>
          <input
            id="pp-enabled"
            type="checkbox"
            checked={enabled}
            onChange={(e) => setEnabled(e.target.checked)}
          />
        </Field>
        <ErrorBox error={save.error} fieldsShown={any} />
        <div className="form-actions">
          <button type="submit" className="primary" disabled={save.isPending}>
            {pipeline ? 'Save pipeline' : 'Create pipeline'}
          </button>
          <Link className="button" to={pipeline ? `/pipelines/${pipeline.id}` : '/pipelines'}>
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
