import { splitText, type NotificationMessage } from '../../domain/notifications';
import { postToReceiver, type HttpDeps } from './http';
import { SEVERITY_COLOR, type ChannelAttempt } from './types';

/** Slack requires &, < and > escaped in message text; everything else is sent as plain (non-mrkdwn) text. */
export function slackEscape(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Incoming-webhook payload: a coloured attachment as in seed 004, with the title as the push-notification text. */
export function slackPayload(msg: NotificationMessage): Record<string, unknown> {
  const { title, body } = splitText(msg.text);
  return {
    text: slackEscape(title),
    attachments: [
      {
        color: SEVERITY_COLOR[msg.severity],
        title: slackEscape(title),
        text: slackEscape(body),
        mrkdwn_in: [],
        footer: `Patchwave | ${msg.severity} | ${msg.type}`,
      },
    ],
  };
}

export function slackAttempt(http: HttpDeps, url: string): ChannelAttempt {
  return async ({ msg }) => postToReceiver(http, url, JSON.stringify(slackPayload(msg)), {});
}
