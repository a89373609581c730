import { Navigate, Route, Routes, useLocation } from 'react-router';
import type { ReactNode } from 'react';
import { useAuth } from './auth';
import { Layout } from './components/Layout';
import { Loading } from './components/ui';
import { SignIn } from './pages/SignIn';
import { Events } from './pages/Events';
import { EventDetail } from './pages/EventDetail';
import { PlanView, Plans } from './pages/Plans';
import { PlanEdit } from './pages/PlanForm';
import { MachineEdit, MachineView, Machines } from './pages/Machines';
import { PipelineEdit, PipelineView, Pipelines } from './pages/Pipelines';
import { NotificationGroupEdit, NotificationGroups } from './pages/NotificationGroups';
import { Admin } from './pages/Admin';

function RequireAuth({ children }: { children: ReactNode }) {
  const { me, loading } = useAuth();
  const location = useLocation();
  if (loading) return <Loading what="your session" />;
  if (!me) return <Navigate to="/signin" replace state={{ from: location.pathname + location.search }} />;
  return children;
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page here. Go to the <a href="/events">events</a>.
      </p>
    </section>
  );
}

export function AppRoutes() {
  const { me } = useAuth();
  return (
    <Routes>
      <Route path="/signin" element={me ? <Navigate to="/events" replace /> : <SignIn />} />
      <Route
        element={
          <RequireAuth>
            <Layout />
          </RequireAuth>
        }
      >
        <Route index element={<Navigate to="/events" replace />} />
        <Route path="events" element={<Events />} />
        <Route path="events/:id" element={<EventDetail />} />
        <Route path="plans" element={<Plans />} />
        <Route path="plans/new" element={<PlanEdit />} />
        <Route path="plans/:id" element={<PlanView />} />
        <Route path="plans/:id/edit" element={<PlanEdit />} />
        <Route path="pipelines" element={<Pipelines />} />
        <Route path="pipelines/new" element={<PipelineEdit />} />
        <Route path="pipelines/:id" element={<PipelineView />} />
        <Route path="pipelines/:id/edit" element={<PipelineEdit />} />
        <Route path="machines" element={<Machines />} />
        <Route path="machines/new" element={<MachineEdit />} />
        <Route path="machines/:id" element={<MachineView />} />
        <Route path="machines/:id/edit" element={<MachineEdit />} />
        <Route path="notification-groups" element={<NotificationGroups />} />
        <Route path="notification-groups/new" element={<NotificationGroupEdit />} />
        <Route path="notification-groups/:id/edit" element={<NotificationGroupEdit />} />
        <Route path="admin" element={<Admin />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
