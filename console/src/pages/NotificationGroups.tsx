import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, listAll } from '../api';
import { useAuth } from '../auth';
import type { NotificationGroup } from '../types';
import { ConfirmButton, Empty, ErrorBox, Field, Loading } from '../components/ui';
import { fieldErrors } from '../components/forms';
import { DataTable } from '../components/DataTable';

type Channel = NotificationGroup['channels'][number];
const SEVERITIES = ['DEBUG', 'INFO', 'SUCCESS', 'WARNING', 'ERROR'];

function channelText(c: Channel) {
  return c.type === 'email' ? `e-mail: ${c.to.join(', ')}` : `${c.type}: ${c.url}`;
}

export function NotificationGroups() {
  const { can } = useAuth();
  const groups = useQuery({
    queryKey: ['groups', 'all'],
    queryFn: () => listAll<NotificationGroup>('/notification-groups'),
  });
  return (
    <section aria-labelledby="groups-title">
      <div className="page-head">
        <h1 id="groups-title">Notification groups</h1>
        <div className="actions">
          {can('notification_group', 'create') && (
            <Link className="button primary" to="/notification-groups/new">
              New group
            </Link>
          )}
        </div>
      </div>
      <ErrorBox error={groups.error} />
      {groups.isPending ? (
        <Loading what="notification groups" />
      ) : !groups.data?.length ? (
        <Empty>
          No notification groups. A group sends Slack, Teams, webhook or e-mail messages about the plans and
          pipelines that name it.{' '}
          {can('notification_group', 'create') && <Link to="/notification-groups/new">Create a group</Link>}
        </Empty>
      ) : (
        <DataTable
          rows={groups.data}
          rowKey={(g) => g.id}
          columns={[
            { header: 'Name', cell: (g) => <Link to={`/notification-groups/${g.id}/edit`}>{g.name}</Link> },
            { header: 'Minimum severity', cell: (g) => g.min_severity },
            { header: 'Channels', cell: (g) => g.channels.map((c) => c.type).join(', '), className: 'small' },
            {
              header: 'Event types',
              cell: (g) => (g.event_types ? g.event_types.join(', ') : 'all'),
              className: 'small',
            },
          ]}
        />
      )}
    </section>
  );
}

export function NotificationGroupEdit() {
  const { id } = useParams();
  const g = useQuery({
    queryKey: ['group', id],
    queryFn: () => api<NotificationGroup>('GET', `/notification-groups/${id}`),
    enabled: !!id,
  });
  if (id && g.isPending) return <Loading what="the group" />;
  if (g.error) return <ErrorBox error={g.error} />;
  return <GroupForm key={id ?? 'new'} group={g.data} />;
}

function GroupForm({ group }: { group?: NotificationGroup }) {
  const { can } = useAuth();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState(group?.name ?? '');
  const [min, setMin] = useState(group?.min_severity ?? 'INFO');
  const [channels, setChannels] = useState<Channel[]>(group?.channels ?? [{ type: 'slack', url: '' }]);
  const setCh = (i: number, c: Channel) => setChannels(channels.map((x, j) => (j === i ? c : x)));
  const done = () => {
    void qc.invalidateQueries({ queryKey: ['groups'] });
    navigate('/notification-groups');
  };
  const save = useMutation({
    mutationFn: () => {
      const body = {
        name,
        min_severity: min,
        channels,
        ...(group?.event_types ? { event_types: group.event_types } : {}),
      };
      return group
        ? api('PUT', `/notification-groups/${group.id}`, body)
        : api('POST', '/notification-groups', body);
    },
    onSuccess: done,
  });
  const remove = useMutation({
    mutationFn: () => api('DELETE', `/notification-groups/${group!.id}`),
    onSuccess: done,
  });
  const { at, any } = fieldErrors(save.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <section aria-labelledby="group-form-title">
      <p className="small">
        <Link to="/notification-groups">← Notification groups</Link>
      </p>
      <div className="page-head">
        <h1 id="group-form-title">{group ? group.name : 'New notification group'}</h1>
        {group && (
          <div className="actions">
            <ConfirmButton
              label="Delete"
              className="danger"
              confirm="Delete this group?"
              disabled={!can('notification_group', 'delete', group.id)}
              onConfirm={() => remove.mutate()}
            />
          </div>
        )}
      </div>
      <form className="edit" onSubmit={submit} noValidate>
        <Field id="g-name" label="Name" error={at('name')}>
          <input id="g-name" type="text" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field id="g-min" label="Minimum severity" error={at('min_severity')}>
          <select id="g-min" value={min} onChange={(e) => setMin(e.target.value as typeof min)}>
            {SEVERITIES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </Field>
        <Field id="g-channels" label="Channels" error={at('channels')} group>
          {channels.map((c, i) => (
            <div className="row" key={i}>
              <select
                aria-label={`Channel ${i + 1} type`}
                value={c.type}
                onChange={(e) => {
                  const t = e.target.value as Channel['type'];
                  setCh(
                    i,
                    t === 'email' ? { type: 'email', to: [] } : { type: t, url: 'url' in c ? c.url : '' },
                  );
                }}
              >
                <option value="slack">Slack</option>
                <option value="teams">Teams</option>
                <option value="webhook">Webhook</option>
                <option value="email">E-mail</option>
              </select>
              {c.type === 'email' ? (
                <input
                  type="text"
                  className="grow"
                  aria-label={`Channel ${i + 1} addresses`}
                  placeholder="ops@example.com, oncall@example.com"
                  value={c.to.join(', ')}
                  onChange={(e) =>
                    setCh(i, {
                      type: 'email',
                      to: e.target.value
                        .split(',')
                        .map((s) => s.trim())
                        .filter(Boolean),
                    })
                  }
                />
              ) : (
                <input
                  type="text"
                  className="grow mono"
                  aria-label={`Channel ${i + 1} URL`}
                  placeholder="https://hooks.slack.com/services/…"
                  value={c.url}
                  onChange={(e) => setCh(i, { ...c, url: e.target.value })}
                />
              )}
              <button type="button" onClick={() => setChannels(channels.filter((_, j) => j !== i))}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" onClick={() => setChannels([...channels, { type: 'slack', url: '' }])}>
            Add a channel
          </button>
          {group && <div className="hint">Saved channels: {group.channels.map(channelText).join(' · ')}</div>}
        </Field>
        <ErrorBox error={save.error ?? remove.error} fieldsShown={any} />
        <div className="form-actions">
          <button type="submit" className="primary" disabled={save.isPending}>
            {group ? 'Save group' : 'Create group'}
          </button>
        </div>
      </form>
    </section>
  );
}
