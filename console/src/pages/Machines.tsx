import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, listAll } from '../api';
import { useAuth } from '../auth';
import { Time } from '../format';
import type { Machine } from '../types';
import { ConfirmButton, Empty, ErrorBox, EventBadge, Field, Loading, noPerm } from '../components/ui';
import { fieldErrors, numOrUndef } from '../components/forms';
import { HoldPanel } from './machine/HoldPanel';
import { CompliancePanel } from './machine/CompliancePanel';

function Ping({ m }: { m: Machine }) {
  if (!m.ping_status) return <span className="muted">unknown</span>;
  return (
    <span className={`badge ${m.ping_status === 'Online' ? 'ok' : 'bad'}`} title={m.ping_error}>
      {m.ping_status}
    </span>
  );
}

export function Machines() {
  const { can } = useAuth();
  const machines = useQuery({
    queryKey: ['machines', 'all'],
    queryFn: () => listAll<Machine>('/machines'),
    refetchInterval: 30_000,
  });
  return (
    <section aria-labelledby="machines-title">
      <div className="page-head">
        <h1 id="machines-title">Machines</h1>
        <div className="actions">
          {can('machine', 'create') && (
            <Link className="button primary" to="/machines/new">
              Register a machine
            </Link>
          )}
        </div>
      </div>
      <ErrorBox error={machines.error} />
      {machines.isPending ? (
        <Loading what="machines" />
      ) : !machines.data?.length ? (
        <Empty>
          No machines yet. Register each SSM-managed instance (its <code>i-…</code> or <code>mi-…</code> ID
          and region), then list it in a plan.
          {can('machine', 'create') && (
            <>
              {' '}
              <Link to="/machines/new">Register a machine</Link>
            </>
          )}
        </Empty>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">SSM ID</th>
              <th scope="col">Region</th>
              <th scope="col">Provider</th>
              <th scope="col">Ping</th>
              <th scope="col">Last patching</th>
              <th scope="col">Plans</th>
            </tr>
          </thead>
          <tbody>
            {machines.data.map((m) => (
              <tr key={m.id}>
                <td>
                  <Link to={`/machines/${m.id}`}>{m.name}</Link>
                </td>
                <td className="mono">{m.access.ssm_machine_id}</td>
                <td>{m.access.region}</td>
                <td>{m.provider}</td>
                <td>
                  <Ping m={m} />{' '}
                  {m.hold && (
                    <span className="badge warn" title={`until ${m.hold.until}: ${m.hold.reason}`}>
                      On hold
                    </span>
                  )}
                </td>
                <td>
                  {m.last_patching ? (
                    <Link to={`/events/${encodeURIComponent(m.last_patching.event_id)}`}>
                      <EventBadge status={m.last_patching.status} />
                    </Link>
                  ) : (
                    <span className="muted">never</span>
                  )}
                </td>
                <td>{m.plans.length}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function MachineView() {
  const { id = '' } = useParams();
  const { can } = useAuth();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const m = useQuery({ queryKey: ['machine', id], queryFn: () => api<Machine>('GET', `/machines/${id}`) });
  const remove = useMutation({
    mutationFn: () => api('DELETE', `/machines/${id}`),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['machines'] });
      navigate('/machines');
    },
  });
  if (m.isPending) return <Loading what="the machine" />;
  if (m.error) return <ErrorBox error={m.error} />;
  const x = m.data;
  return (
    <section aria-labelledby="machine-title">
      <p className="small">
        <Link to="/machines">← Machines</Link>
      </p>
      <div className="page-head">
        <h1 id="machine-title">{x.name}</h1>
        <Ping m={x} />
        <div className="actions">
          {can('event', 'list') && (
            <Link className="button" to={`/events?view=list&range=past30&machine_id=${x.id}`}>
              Its events
            </Link>
          )}
          {can('machine', 'update', x.id) && (
            <Link className="button" to={`/machines/${x.id}/edit`}>
              Edit
            </Link>
          )}
          <ConfirmButton
            label="Delete"
            className="danger"
            confirm="Delete this machine?"
            disabled={!can('machine', 'delete', x.id)}
            title={can('machine', 'delete', x.id) ? undefined : noPerm('machine', 'delete')}
            onConfirm={() => remove.mutate()}
          />
        </div>
      </div>
      <ErrorBox error={remove.error} />
      <div className="panel">
        <dl className="kv">
          <dt>Id</dt>
          <dd className="mono">{x.id}</dd>
          <dt>SSM managed instance</dt>
          <dd className="mono">
            {x.access.ssm_machine_id} · {x.access.region}
            {x.access.iam_role ? ` · ${x.access.iam_role}` : ''}
          </dd>
          <dt>Provider</dt>
          <dd>{x.provider}</dd>
          <dt>Reboot policy</dt>
          <dd>{x.reboot_policy}</dd>
          <dt>Ping</dt>
          <dd>
            <Ping m={x} /> {x.ping_error && <span className="muted">{x.ping_error}</span>}
          </dd>
          <dt>Last patching</dt>
          <dd>
            {x.last_patching ? (
              <Link to={`/events/${encodeURIComponent(x.last_patching.event_id)}`}>
                {x.last_patching.event_id} <EventBadge status={x.last_patching.status} />
              </Link>
            ) : (
              'never'
            )}
          </dd>
          <dt>Plans</dt>
          <dd>
            {x.plans.length
              ? x.plans.map((p) => (
                  <Link key={p} to={`/plans/${p}`} className="mono">
                    {p}{' '}
                  </Link>
                ))
              : 'none'}
          </dd>
          <dt>Metadata</dt>
          <dd>{x.metadata.length ? x.metadata.map((kv) => `${kv.key}=${kv.value}`).join(', ') : 'none'}</dd>
          <dt>Updated</dt>
          <dd>
            <Time iso={x.updated_at} />
          </dd>
        </dl>
      </div>
      <CompliancePanel machineId={x.id} />
      <HoldPanel machine={x} />
    </section>
  );
}

export function MachineEdit() {
  const { id } = useParams();
  const m = useQuery({
    queryKey: ['machine', id],
    queryFn: () => api<Machine>('GET', `/machines/${id}`),
    enabled: !!id,
  });
  if (id && m.isPending) return <Loading what="the machine" />;
  if (m.error) return <ErrorBox error={m.error} />;
  return <MachineForm key={id ?? 'new'} machine={m.data} />;
}

function MachineForm({ machine }: { machine?: Machine }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [d, setD] = useState({
    name: machine?.name ?? '',
    description: machine?.description ?? '',
    provider: machine?.provider ?? 'AWS',
    ssm: machine?.access.ssm_machine_id ?? '',
    region: machine?.access.region ?? 'us-east-1',
    iam_role: machine?.access.iam_role ?? '',
    reboot_policy: machine?.reboot_policy ?? 'IF_NEEDED',
    published_days_old: '',
  });
  const set = (k: keyof typeof d, v: string) => setD((x) => ({ ...x, [k]: v }));
  const save = useMutation({
    mutationFn: () => {
      const {
        id: _id,
        customer_id: _c,
        created_at: _a,
        updated_at: _u,
        plans: _p,
        pipelines: _q,
        ping_status: _s,
        ping_error: _e,
        last_patching: _l,
        ...rest
      } = (machine ?? {}) as Machine & { customer_id?: string };
      void [_id, _c, _a, _u, _p, _q, _s, _e, _l];
      const body = {
        ...rest,
        name: d.name,
        ...(d.description ? { description: d.description } : { description: undefined }),
        provider: d.provider,
        access: { ssm_machine_id: d.ssm, region: d.region, ...(d.iam_role ? { iam_role: d.iam_role } : {}) },
        reboot_policy: d.reboot_policy,
        ...(d.published_days_old ? { published_days_old: numOrUndef(d.published_days_old) } : {}),
      };
      return machine
        ? api<Machine>('PUT', `/machines/${machine.id}`, body)
        : api<Machine>('POST', '/machines', body);
    },
    onSuccess: (m) => {
      void qc.invalidateQueries({ queryKey: ['machines'] });
      void qc.invalidateQueries({ queryKey: ['machine', m.id] });
      navigate(`/machines/${m.id}`);
    },
  });
  const { at, any } = fieldErrors(save.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <section aria-labelledby="machine-form-title">
      <p className="small">
        <Link to={machine ? `/machines/${machine.id}` : '/machines'}>
          ← {machine ? machine.name : 'Machines'}
        </Link>
      </p>
      <h1 id="machine-form-title">{machine ? `Edit ${machine.name}` : 'Register a machine'}</h1>
      <form className="edit" onSubmit={submit} noValidate>
        <Field id="m-name" label="Name" error={at('name')}>
          <input id="m-name" type="text" value={d.name} onChange={(e) => set('name', e.target.value)} />
        </Field>
        <Field id="m-description" label="Description" error={at('description')}>
          <textarea
            id="m-description"
            value={d.description}
            onChange={(e) => set('description', e.target.value)}
          />
        </Field>
        <Field id="m-provider" label="Provider" error={at('provider')}>
          <select id="m-provider" value={d.provider} onChange={(e) => set('provider', e.target.value)}>
            <option value="AWS">AWS (EC2)</option>
            <option value="AZURE">Azure (SSM hybrid)</option>
            <option value="ON_PREMISE">On premises (SSM hybrid)</option>
          </select>
        </Field>
        <Field id="m-ssm" label="SSM managed instance ID" error={at('access.ssm_machine_id') ?? at('access')}>
          <input
            id="m-ssm"
            type="text"
            className="mono"
            placeholder="i-0123456789abcdef0"
            value={d.ssm}
            onChange={(e) => set('ssm', e.target.value)}
          />
        </Field>
        <Field id="m-region" label="Region" error={at('access.region')}>
          <input id="m-region" type="text" value={d.region} onChange={(e) => set('region', e.target.value)} />
        </Field>
        <Field
          id="m-role"
          label="IAM role (optional)"
          error={at('access.iam_role')}
          hint="Assumed for this machine's SSM calls (cross-account)."
        >
          <input
            id="m-role"
            type="text"
            className="mono"
            value={d.iam_role}
            onChange={(e) => set('iam_role', e.target.value)}
          />
        </Field>
        <Field id="m-reboot" label="Reboot policy" error={at('reboot_policy')}>
          <select
            id="m-reboot"
            value={d.reboot_policy}
            onChange={(e) => set('reboot_policy', e.target.value)}
          >
            <option value="IF_NEEDED">If needed</option>
            <option value="ALWAYS">Always</option>
            <option value="NEVER">Never</option>
          </select>
        </Field>
        <ErrorBox error={save.error} fieldsShown={any} />
        <div className="form-actions">
          <button type="submit" className="primary" disabled={save.isPending}>
            {machine ? 'Save machine' : 'Register machine'}
          </button>
          <Link className="button" to={machine ? `/machines/${machine.id}` : '/machines'}>
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
