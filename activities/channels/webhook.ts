import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NotificationMessage } from '../../domain/notifications';
import { postToReceiver, type HttpDeps } from './http';
import { DeliveryError, type ChannelAttempt } from './types';

export const SIGNATURE_HEADER = 'x-patchwave-signature';
export const TIMESTAMP_HEADER = 'x-patchwave-timestamp';
export const DELIVERY_HEADER = 'x-patchwave-delivery';

/**
 * `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`. The timestamp (unix seconds, also sent in
 * X-Patchwave-Timestamp) is signed with the body so a receiver can refuse replays of old messages.
 */
export function signWebhook(secret: string, timestamp: string, rawBody: string | Buffer): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
  return `sha256=${mac}`;
}

/** For receivers (and our tests): checks the signature and that the timestamp is recent. */
export function verifyWebhookSignature(args: {
  secret: string;
  rawBody: string | Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
  toleranceSeconds?: number;
  nowSeconds?: number;
}): boolean {
  const { signature, timestamp } = args;
  if (!signature || !timestamp || !/^\d+$/.test(timestamp)) return false;
  const now = args.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (args.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(args.secret, timestamp, args.rawBody));
  const got = Buffer.from(signature);
  return expected.length === got.length && timingSafeEqual(expected, got);
}

/** The generic webhook body is the message itself, docs/behaviour.md#notification-group. */
export function webhookBody(msg: NotificationMessage): string {
  return JSON.stringify(msg);
}

export function webhookAttempt(
  http: HttpDeps,
  url: string,
  secret: string | undefined,
  nowSeconds: () => number,
): ChannelAttempt {
  return async ({ msg, deliveryId }) => {
    // Fail closed: receivers are promised signed messages, so an unsigned one is never sent.
    if (!secret)
      throw new DeliveryError(
        'no signing secret: set PATCHWAVE_WEBHOOK_SECRET or the channel secret_ref',
        false,
      );
    const body = webhookBody(msg);
    const ts = String(nowSeconds());
    await postToReceiver(http, url, body, {
      [SIGNATURE_HEADER]: signWebhook(secret, ts, body),
      [TIMESTAMP_HEADER]: ts,
      [DELIVERY_HEADER]: deliveryId,
      'x-patchwave-event': msg.type,
    });
  };
}
