import type { Config } from '../common/config';
import { AuthStore, BOOTSTRAP_CUSTOMER_ID, adminRoleId } from '../store/auth';
import { isDuplicateKey } from '../store/db';

export interface BootstrapResult {
  customerId: string;
  /** Set only when a new key was generated: print it once, it is never shown again. */
  generatedSecret?: string;
  keyId?: string;
  source: 'generated' | 'env' | 'existing';
}

/**
 * A fresh install must be usable at once: make sure the bootstrap customer (with its admin role) exists,
 * then either install PATCHWAVE_BOOTSTRAP_KEY (same id each start, so rotating it in env rotates the key)
 * or, if no key exists at all, generate one admin key to print once.
 */
export async function ensureBootstrap(
  auth: AuthStore,
  config: Pick<Config, 'PATCHWAVE_BOOTSTRAP_KEY'>,
): Promise<BootstrapResult> {
  const customerId = BOOTSTRAP_CUSTOMER_ID;
  if (!(await auth.getCustomer(customerId))) {
    try {
      await auth.createCustomer(
        { name: 'default', description: 'Created at first start' },
        { id: customerId, bootstrap: true },
      );
    } catch (e) {
      // Another API process won the race; what it created is what we wanted.
      if (!isDuplicateKey(e)) throw e;
    }
  }
  if (config.PATCHWAVE_BOOTSTRAP_KEY) {
    const { key } = await auth.upsertKeySecret(customerId, 'bootstrap (env)', config.PATCHWAVE_BOOTSTRAP_KEY);
    if (key.customer_id === customerId) await auth.bind(customerId, key.id, adminRoleId(customerId));
    return { customerId, keyId: key.id, source: 'env' };
  }
  if ((await auth.countKeys()) > 0) return { customerId, source: 'existing' };
  const { key, secret } = await auth.createKey({ customerId, name: 'bootstrap admin' });
  await auth.bind(customerId, key.id, adminRoleId(customerId));
  return { customerId, keyId: key.id, generatedSecret: secret, source: 'generated' };
}
