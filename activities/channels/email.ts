import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../../common/config';
import { splitText, type NotificationMessage } from '../../domain/notifications';
import { DeliveryError, SEVERITY_COLOR, type ChannelAttempt } from './types';

export interface SmtpSettings {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it. */
  secure?: boolean;
  auth?: { user: string; pass: string };
  from: string;
  /** Refuse to send without STARTTLS. */
  requireTLS?: boolean;
  /** Never try STARTTLS (test servers only). */
  ignoreTLS?: boolean;
  tls?: { rejectUnauthorized?: boolean };
}

/** SMTP_URL `smtp[s]://user:pass@host:port` + SMTP_FROM; undefined when SMTP_URL is not set. */
export function smtpSettingsFromConfig(
  cfg: Pick<Config, 'SMTP_URL' | 'SMTP_FROM'>,
): SmtpSettings | undefined {
  if (!cfg.SMTP_URL) return undefined;
  const u = new URL(cfg.SMTP_URL);
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:')
    throw new Error('SMTP_URL must start with smtp:// or smtps://');
  const secure = u.protocol === 'smtps:';
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    auth: u.username
      ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) }
      : undefined,
    from: cfg.SMTP_FROM,
    requireTLS: u.searchParams.get('requireTLS') === 'true' || undefined,
  };
}

export function createSmtpTransport(smtp: SmtpSettings, timeoutMs: number): Transporter {
  return nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure ?? false,
    auth: smtp.auth,
    requireTLS: smtp.requireTLS,
    ignoreTLS: smtp.ignoreTLS,
    tls: smtp.tls,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
}

function escapeHtml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

export function emailContent(msg: NotificationMessage): { subject: string; text: string; html: string } {
  const { title, body } = splitText(msg.text);
  const subject = `[Patchwave ${msg.severity}] ${title}`.replace(/[\r\n]+/g, ' ').slice(0, 250);
  const footer = `--\nSent by Patchwave (${msg.type}, severity ${msg.severity}). You receive it as a member of a notification group.`;
  const text = `${title}\n\n${body}\n\n${footer}\n`;
  const html = [
    '<!doctype html><html><body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">',
    `<div style="border-left:6px solid ${SEVERITY_COLOR[msg.severity]};padding:4px 12px;margin-bottom:12px">`,
    `<div style="font-size:16px;font-weight:bold">${escapeHtml(title)}</div>`,
    `<div style="color:#666;font-size:12px">${escapeHtml(msg.severity)} &middot; ${escapeHtml(msg.type)}</div></div>`,
    `<pre style="font-family:Menlo,Consolas,monospace;font-size:13px;white-space:pre-wrap">${escapeHtml(body)}</pre>`,
    `<p style="color:#888;font-size:12px">${escapeHtml(footer.replace(/^--\n/, ''))}</p>`,
    '</body></html>',
  ].join('');
  return { subject, text, html };
}

/** SMTP reply codes 5xx are permanent; 4xx and connection failures may pass on another attempt. */
function toDeliveryError(err: unknown): DeliveryError {
  const e = err as { responseCode?: number; code?: string };
  if (typeof e?.responseCode === 'number')
    return new DeliveryError(`SMTP server answered ${e.responseCode}`, e.responseCode < 500);
  if (e?.code === 'ETIMEDOUT') return new DeliveryError('SMTP server did not answer in time', true);
  if (e?.code === 'ESOCKET' || e?.code === 'ECONNECTION')
    return new DeliveryError('cannot connect to the SMTP server', true);
  if (e?.code === 'EAUTH') return new DeliveryError('SMTP authentication failed', false);
  if (e?.code === 'EENVELOPE') return new DeliveryError('SMTP server refused the recipients', false);
  return new DeliveryError(`SMTP error${e?.code ? ` ${e.code}` : ''}`, true);
}

export function emailAttempt(
  transport: Transporter | undefined,
  from: string | undefined,
  to: string[],
): ChannelAttempt {
  return async ({ msg, deliveryId }) => {
    if (!transport || !from) throw new DeliveryError('e-mail is not configured (SMTP_URL)', false);
    const { subject, text, html } = emailContent(msg);
    // A Message-ID derived from the delivery lets mail systems fold a resent copy into the first one.
    const messageId = `<${createHash('sha256').update(deliveryId).digest('hex').slice(0, 32)}@patchwave>`;
    try {
      await transport.sendMail({
        from,
        to,
        subject,
        text,
        html,
        messageId,
        headers: { 'X-Patchwave-Delivery': deliveryId },
      });
    } catch (err) {
      throw toDeliveryError(err);
    }
  };
}
