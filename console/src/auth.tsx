import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, meWith, setUnauthorizedHandler, storedKey, storeKey } from './api';
import type { Me } from './types';

/**
 * Who is signed in and what the key may do, from GET /api/v1/me: the server's own permission answer, so the
 * console hides or disables exactly what the API would refuse.
 */
interface Auth {
  me: Me | null;
  loading: boolean;
  signIn(key: string): Promise<void>;
  signOut(): void;
  /** May this key do `action` on `resource` (on object `id`, when a rule is narrowed to some ids)? */
  can(resource: string, action: string, id?: string): boolean;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState(() => storedKey() !== null);

  const signOut = useCallback(() => {
    storeKey(null);
    setMe(null);
    qc.clear();
  }, [qc]);

  useEffect(() => {
    setUnauthorizedHandler(signOut);
    if (!storedKey()) return;
    api<Me>('GET', '/me')
      .then(setMe)
      .catch(() => signOut())
      .finally(() => setLoading(false));
  }, [signOut]);

  const signIn = useCallback(
    async (key: string) => {
      const who = await meWith<Me>(key);
      storeKey(key);
      qc.clear();
      setMe(who);
    },
    [qc],
  );

  const can = useCallback(
    (resource: string, action: string, id?: string) => {
      const g = me?.permissions[resource]?.[action];
      if (!g) return false;
      if (g === 'all') return true;
      return id === undefined ? g.length > 0 : g.includes(id);
    },
    [me],
  );

  const value = useMemo(() => ({ me, loading, signIn, signOut, can }), [me, loading, signIn, signOut, can]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const a = useContext(AuthContext);
  if (!a) throw new Error('useAuth outside AuthProvider');
  return a;
}
