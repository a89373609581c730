import { useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, listAll, qs, type Page } from '../api';
import { useAuth } from '../auth';
import { Time, fromInputUtc, toInputUtc } from '../format';
import type { ApiKey, AuditRecord, Role, RoleBinding } from '../types';
import { ConfirmButton, Empty, ErrorBox, Field, Loading } from '../components/ui';
import { fieldErrors } from '../components/forms';
import { DataTable } from '../components/DataTable';

const TABS = [
  { id: 'keys', label: 'API keys', resource: 'api_key' },
  { id: 'roles', label: 'Roles', resource: 'role' },
  { id: 'bindings', label: 'Role bindings', resource: 'role_binding' },
  { id: 'audit', label: 'Audit log', resource: 'audit' },
] as const;

export function Admin() {
  const { can } = useAuth();
  const [params, setParams] = useSearchParams();
  const tabs = TABS.filter((t) => can(t.resource, 'list'));
  const tab = tabs.find((t) => t.id === params.get('tab')) ?? tabs[0];
  if (!tab) return <Empty>This API key may not administer keys, roles or the audit log.</Empty>;
  return (
    <section aria-labelledby="admin-title">
      <div className="page-head">
        <h1 id="admin-title">Admin</h1>
        <div className="tabs" role="tablist" aria-label="Admin sections">
          {tabs.map((t) => (
            <button
              key={t.id}
              role="tab"
              aria-selected={t.id === tab.id}
              onClick={() => setParams({ tab: t.id })}
            >
              {t.label}
            </button>
          ))}
        </div>
      </div>
      {tab.id === 'keys' && <Keys />}
      {tab.id === 'roles' && <Roles />}
      {tab.id === 'bindings' && <Bindings />}
      {tab.id === 'audit' && <Audit />}
    </section>
  );
}

function Keys() {
  const { can, me } = useAuth();
  const qc = useQueryClient();
  const keys = useQuery({ queryKey: ['keys'], queryFn: () => listAll<ApiKey>('/api-keys') });
  const roles = useQuery({
    queryKey: ['roles'],
    queryFn: () => listAll<Role>('/roles'),
    enabled: can('role', 'list'),
  });
  const [name, setName] = useState('');
  const [roleIds, setRoleIds] = useState<string[]>([]);
  const create = useMutation({
    mutationFn: () => api<ApiKey & { secret: string }>('POST', '/api-keys', { name, role_ids: roleIds }),
    onSuccess: () => {
      setName('');
      setRoleIds([]);
      void qc.invalidateQueries({ queryKey: ['keys'] });
      void qc.invalidateQueries({ queryKey: ['bindings'] });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => api('DELETE', `/api-keys/${id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['keys'] }),
  });
  const { at, any } = fieldErrors(create.error);
  return (
    <>
      {create.data && (
        <div className="secret" role="status">
          <strong>
            Key “{create.data.name}” created. Copy its secret now: it is shown this once and never again.
          </strong>
          <div className="mono" data-testid="new-secret">
            {create.data.secret}
          </div>
          <button type="button" onClick={() => create.reset()}>
            I have copied it
          </button>
        </div>
      )}
      {can('api_key', 'create') && (
        <form
          className="edit"
          aria-label="New API key"
          noValidate
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <h2>New API key</h2>
          <Field id="k-name" label="Name" error={at('name')}>
            <input id="k-name" type="text" value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field id="k-roles" label="Roles" error={at('role_ids')} group>
            {(roles.data ?? []).map((r) => (
              <label key={r.id} className="check block">
                <input
                  type="checkbox"
                  checked={roleIds.includes(r.id)}
                  onChange={(e) =>
                    setRoleIds(e.target.checked ? [...roleIds, r.id] : roleIds.filter((x) => x !== r.id))
                  }
                />
                {r.name}
              </label>
            ))}
          </Field>
          <ErrorBox error={create.error} fieldsShown={any} />
          <button type="submit" className="primary" disabled={create.isPending}>
            Create key
          </button>
        </form>
      )}
      <h2>Keys</h2>
      <ErrorBox error={keys.error ?? remove.error} />
      {keys.isPending ? (
        <Loading what="keys" />
      ) : (
        <DataTable
          rows={keys.data ?? []}
          rowKey={(k) => k.id}
          columns={[
            {
              header: 'Name',
              cell: (k) => (
                <>
                  {k.name}
                  {k.id === me?.api_key.id && <span className="muted"> (this key)</span>}
                </>
              ),
            },
            { header: 'Id', cell: (k) => k.id, className: 'mono' },
            { header: 'Created', cell: (k) => <Time iso={k.created_at} /> },
            { header: 'Last used', cell: (k) => <Time iso={k.last_used_at} /> },
            {
              header: 'Actions',
              hiddenHeader: true,
              cell: (k) =>
                can('api_key', 'delete', k.id) &&
                k.id !== me?.api_key.id && (
                  <ConfirmButton
                    label="Delete"
                    className="danger"
                    confirm="Its bindings go too."
                    onConfirm={() => remove.mutate(k.id)}
                  />
                ),
            },
          ]}
        />
      )}
    </>
  );
}

const RULE_EXAMPLE = JSON.stringify(
  [{ resources: ['machine', 'plan', 'pipeline', 'event', 'report', 'update_log'], actions: ['get', 'list'] }],
  null,
  2,
);

function Roles() {
  const { can } = useAuth();
  const qc = useQueryClient();
  const roles = useQuery({ queryKey: ['roles'], queryFn: () => listAll<Role>('/roles') });
  const [name, setName] = useState('');
  const [rules, setRules] = useState(RULE_EXAMPLE);
  const create = useMutation({
    mutationFn: () => {
      let parsed: unknown = rules;
      try {
        parsed = JSON.parse(rules);
      } catch {
        /* the API names the field */
      }
      return api<Role>('POST', '/roles', { name, rules: parsed });
    },
    onSuccess: () => {
      setName('');
      void qc.invalidateQueries({ queryKey: ['roles'] });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => api('DELETE', `/roles/${id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['roles'] }),
  });
  const { at, any } = fieldErrors(create.error);
  return (
    <>
      {can('role', 'create') && (
        <form
          className="edit"
          aria-label="New role"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <h2>New role</h2>
          <Field id="r-name" label="Name" error={at('name')}>
            <input id="r-name" type="text" value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field
            id="r-rules"
            label="Rules (JSON)"
            error={at('rules')}
            hint="resources × actions, optionally narrowed to resource_ids"
          >
            <textarea
              id="r-rules"
              className="mono"
              rows={6}
              value={rules}
              onChange={(e) => setRules(e.target.value)}
            />
          </Field>
          <ErrorBox error={create.error} fieldsShown={any} />
          <button type="submit" className="primary">
            Create role
          </button>
        </form>
      )}
      <h2>Roles</h2>
      <ErrorBox error={roles.error ?? remove.error} />
      <DataTable
        rows={roles.data ?? []}
        rowKey={(r) => r.id}
        columns={[
          {
            header: 'Name',
            cell: (r) => (
              <>
                {r.name} {r.builtin && <span className="badge idle">built-in</span>}
                <div className="mono small muted">{r.id}</div>
              </>
            ),
          },
          {
            header: 'Rules',
            className: 'small',
            cell: (r) =>
              r.rules.map((rule, i) => (
                <div key={i}>
                  {rule.actions.join(', ')} on {rule.resources.join(', ')}
                  {rule.resource_ids ? ` (only ${rule.resource_ids.join(', ')})` : ''}
                </div>
              )),
          },
          {
            header: 'Actions',
            hiddenHeader: true,
            cell: (r) =>
              !r.builtin &&
              can('role', 'delete', r.id) && (
                <ConfirmButton
                  label="Delete"
                  className="danger"
                  confirm="Delete this role?"
                  onConfirm={() => remove.mutate(r.id)}
                />
              ),
          },
        ]}
      />
    </>
  );
}

function Bindings() {
  const { can } = useAuth();
  const qc = useQueryClient();
  const bindings = useQuery({
    queryKey: ['bindings'],
    queryFn: () => listAll<RoleBinding>('/role-bindings'),
  });
  const keys = useQuery({
    queryKey: ['keys'],
    queryFn: () => listAll<ApiKey>('/api-keys'),
    enabled: can('api_key', 'list'),
  });
  const roles = useQuery({
    queryKey: ['roles'],
    queryFn: () => listAll<Role>('/roles'),
    enabled: can('role', 'list'),
  });
  const [keyId, setKeyId] = useState('');
  const [roleId, setRoleId] = useState('');
  const create = useMutation({
    mutationFn: () => api('POST', '/role-bindings', { api_key_id: keyId, role_id: roleId }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['bindings'] }),
  });
  const remove = useMutation({
    mutationFn: (id: string) => api('DELETE', `/role-bindings/${id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['bindings'] }),
  });
  const keyName = new Map((keys.data ?? []).map((k) => [k.id, k.name]));
  const roleName = new Map((roles.data ?? []).map((r) => [r.id, r.name]));
  const { at, any } = fieldErrors(create.error);
  return (
    <>
      {can('role_binding', 'create') && (
        <form
          className="edit"
          aria-label="New role binding"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <h2>Bind a role to a key</h2>
          <Field id="b-key" label="API key" error={at('api_key_id')}>
            <select id="b-key" value={keyId} onChange={(e) => setKeyId(e.target.value)}>
              <option value="">Choose a key</option>
              {keys.data?.map((k) => (
                <option key={k.id} value={k.id}>
                  {k.name}
                </option>
              ))}
            </select>
          </Field>
          <Field id="b-role" label="Role" error={at('role_id')}>
            <select id="b-role" value={roleId} onChange={(e) => setRoleId(e.target.value)}>
              <option value="">Choose a role</option>
              {roles.data?.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name}
                </option>
              ))}
            </select>
          </Field>
          <ErrorBox error={create.error} fieldsShown={any} />
          <button type="submit" className="primary">
            Bind
          </button>
        </form>
      )}
      <h2>Bindings</h2>
      <ErrorBox error={bindings.error ?? remove.error} />
      <DataTable
        rows={bindings.data ?? []}
        rowKey={(b) => b.id}
        columns={[
          {
            header: 'Key',
            cell: (b) => keyName.get(b.api_key_id) ?? <span className="mono">{b.api_key_id}</span>,
          },
          {
            header: 'Role',
            cell: (b) => roleName.get(b.role_id) ?? <span className="mono">{b.role_id}</span>,
          },
          { header: 'Since', cell: (b) => <Time iso={b.created_at} /> },
          {
            header: 'Actions',
            hiddenHeader: true,
            cell: (b) =>
              can('role_binding', 'delete', b.id) && (
                <ConfirmButton
                  label="Remove"
                  className="danger"
                  confirm="Remove this binding?"
                  onConfirm={() => remove.mutate(b.id)}
                />
              ),
          },
        ]}
      />
    </>
  );
}

function Audit() {
  const [f, setF] = useState({ resource: '', resource_id: '', action: '', actor: '', from: '', to: '' });
  const [token, setToken] = useState<string | null>(null);
  const query = qs({ ...f, limit: 100, continuation_token: token });
  const page = useQuery({
    queryKey: ['audit', query],
    queryFn: () => api<Page<AuditRecord>>('GET', `/audit${query}`),
    placeholderData: (p) => p,
  });
  const set = (k: keyof typeof f, v: string) => {
    setToken(null);
    setF({ ...f, [k]: v });
  };
  return (
    <>
      <form className="filters" aria-label="Audit filters" onSubmit={(e) => e.preventDefault()}>
        {(['resource', 'resource_id', 'action', 'actor'] as const).map((k) => (
          <label key={k}>
            {k.replace('_', ' ')}
            <input type="text" value={f[k]} onChange={(e) => set(k, e.target.value)} />
          </label>
        ))}
        <label>
          From (UTC)
          <input
            type="datetime-local"
            value={toInputUtc(f.from || undefined)}
            onChange={(e) => set('from', fromInputUtc(e.target.value) ?? '')}
          />
        </label>
        <label>
          To (UTC)
          <input
            type="datetime-local"
            value={toInputUtc(f.to || undefined)}
            onChange={(e) => set('to', fromInputUtc(e.target.value) ?? '')}
          />
        </label>
      </form>
      <ErrorBox error={page.error} />
      {page.isPending ? (
        <Loading what="the audit log" />
      ) : !page.data?.items.length ? (
        <Empty>No audit records match. Every change made through the API is recorded here.</Empty>
      ) : (
        <DataTable
          rows={page.data.items}
          rowKey={(a) => a.id}
          columns={[
            { header: 'At', cell: (a) => <Time iso={a.at} seconds /> },
            { header: 'Who', cell: (a) => a.actor, className: 'mono small' },
            { header: 'Action', cell: (a) => a.action },
            {
              header: 'Object',
              className: 'small',
              cell: (a) => (
                <>
                  {a.resource} <span className="mono">{a.resource_id}</span>
                </>
              ),
            },
            {
              header: 'Change',
              cell: (a) => (
                <details>
                  <summary>before / after</summary>
                  <pre className="output">
                    {JSON.stringify({ before: a.before, after: a.after, details: a.details }, null, 2)}
                  </pre>
                </details>
              ),
            },
          ]}
        />
      )}
      {page.data?.continuation_token && (
        <button type="button" onClick={() => setToken(page.data!.continuation_token)}>
          Older records
        </button>
      )}
    </>
  );
}
