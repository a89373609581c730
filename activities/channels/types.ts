import type { NotificationMessage } from '../../domain/notifications';

/**
 * A failed channel call. `message` is safe to store and show: it never contains the channel URL (a Slack or
 * Teams webhook URL is a credential) nor the receiver's answer body.
 */
export class DeliveryError extends Error {
  constructor(
    message: string,
    /** Worth another attempt: transport errors, timeouts, 5xx, 429. */
    readonly retryable: boolean,
    /** Server-requested wait (429 Retry-After), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface SendRequest {
  msg: NotificationMessage;
  /** Stable per (notification, group, channel): receivers may use it to drop duplicates. */
  deliveryId: string;
}

/** One attempt at one channel; throws DeliveryError. Retries are the caller's business. */
export type ChannelAttempt = (req: SendRequest) => Promise<void>;

/** Card colours by severity (Slack attachment `color`, Teams accent); the seed uses ECB22E and 2EB67D. */
export const SEVERITY_COLOR: Record<NotificationMessage['severity'], string> = {
  DEBUG: '#9E9E9E',
  INFO: '#36C5F0',
  SUCCESS: '#2EB67D',
  WARNING: '#ECB22E',
  ERROR: '#E01E5A',
};
