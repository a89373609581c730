import { useState, type FormEvent } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { useAuth } from '../auth';
import { ApiError } from '../api';

export function SignIn() {
  const { signIn } = useAuth();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();
  const location = useLocation();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(key.trim());
      setKey('');
      const from = (location.state as { from?: string } | null)?.from;
      navigate(from && from !== '/signin' ? from : '/events', { replace: true });
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'This API key is not valid (unknown, deleted or mistyped).'
          : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="signin">
      <form method="post" onSubmit={submit} aria-labelledby="signin-title" autoComplete="off">
        <h1 id="signin-title">Patchwave</h1>
        <p className="muted">
          Sign in with an API key. It is kept for this browser tab only and sent only to this server.
        </p>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoFocus
          required
          spellCheck={false}
          placeholder="pw_key_…"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'signin-error' : 'signin-help'}
        />
        {error && (
          <div className="field-error" id="signin-error" role="alert">
            {error}
          </div>
        )}
        <button type="submit" className="primary" disabled={busy || !key.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p id="signin-help" className="hint">
          On a fresh install the API prints the bootstrap admin key once (<code>npm run dev</code> shows it in
          its box).
        </p>
      </form>
    </div>
  );
}
