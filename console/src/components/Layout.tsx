import { NavLink, Outlet } from 'react-router';
import { useIsFetching } from '@tanstack/react-query';
import { useAuth } from '../auth';

export function Layout() {
  const { me, signOut, can } = useAuth();
  const fetching = useIsFetching();
  const admin = can('api_key', 'list') || can('role', 'list') || can('audit', 'list');
  const link = ({ isActive }: { isActive: boolean }) => (isActive ? 'active' : undefined);
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Patchwave</span>
        <nav aria-label="Main">
          {can('event', 'list') && (
            <NavLink to="/events" className={link}>
              Events
            </NavLink>
          )}
          {can('plan', 'list') && (
            <NavLink to="/plans" className={link}>
              Plans
            </NavLink>
          )}
          {can('pipeline', 'list') && (
            <NavLink to="/pipelines" className={link}>
              Pipelines
            </NavLink>
          )}
          {can('machine', 'list') && (
            <NavLink to="/machines" className={link}>
              Machines
            </NavLink>
          )}
          {can('notification_group', 'list') && (
            <NavLink to="/notification-groups" className={link}>
              Notifications
            </NavLink>
          )}
          {admin && (
            <NavLink to="/admin" className={link}>
              Admin
            </NavLink>
          )}
        </nav>
        <span className={`spinner${fetching ? ' on' : ''}`} aria-hidden={!fetching} title="Refreshing" />
        <span className="who" title={`API key ${me?.api_key.id}`}>
          {me?.api_key.name} · {me?.customer.name}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
