import { splitText, type NotificationMessage } from '../../domain/notifications';
import { postToReceiver, type HttpDeps } from './http';
import type { ChannelAttempt } from './types';

const TEAMS_COLOR: Record<NotificationMessage['severity'], string> = {
  DEBUG: 'Default',
  INFO: 'Accent',
  SUCCESS: 'Good',
  WARNING: 'Warning',
  ERROR: 'Attention',
};

/** Teams cards are limited to ~28 KB; long lists are folded into one block past this many lines. */
const MAX_LINE_BLOCKS = 120;

/**
 * Teams message with an Adaptive Card: accepted by Teams Workflows ("When a Teams webhook request is
 * received") and by the older Incoming Webhook connectors alike. One TextBlock per line keeps line breaks,
 * which a single markdown TextBlock would merge.
 */
export function teamsPayload(msg: NotificationMessage): Record<string, unknown> {
  const { title, body } = splitText(msg.text);
  const lines = body ? body.split('\n') : [];
  const blocks = lines.slice(0, MAX_LINE_BLOCKS).map((line) => ({
    type: 'TextBlock',
    text: line || ' ',
    wrap: true,
    spacing: 'None',
  }));
  if (lines.length > MAX_LINE_BLOCKS)
    blocks.push({
      type: 'TextBlock',
      text: lines.slice(MAX_LINE_BLOCKS).join('\n\n'),
      wrap: true,
      spacing: 'Small',
    });
  return {
    type: 'message',
    summary: title,
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          body: [
            {
              type: 'TextBlock',
              text: title,
              weight: 'Bolder',
              size: 'Medium',
              wrap: true,
              color: TEAMS_COLOR[msg.severity],
            },
            ...blocks,
            {
              type: 'TextBlock',
              text: `Patchwave | ${msg.severity} | ${msg.type}`,
              isSubtle: true,
              size: 'Small',
              wrap: true,
            },
          ],
        },
      },
    ],
  };
}

export function teamsAttempt(http: HttpDeps, url: string): ChannelAttempt {
  return async ({ msg }) => postToReceiver(http, url, JSON.stringify(teamsPayload(msg)), {});
}
