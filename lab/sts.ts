import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { ACCOUNT_ID, AwsError, requestId, send, xmlEscape } from './http';
import type { LabState } from './state';

/** STS over the AWS query protocol (form-encoded POST, XML answers). */

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const ROLE_ARN = /^arn:aws[a-zA-Z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

const upperAlnum = (n: number): string =>
  Array.from(randomBytes(n), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('');

function xmlOk(res: ServerResponse, action: string, result: string): void {
  const xml = `<${action}Response xmlns="${NS}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>${requestId()}</RequestId></ResponseMetadata></${action}Response>`;
  send(res, 200, xml, { 'content-type': 'text/xml' });
}

export function stsError(res: ServerResponse, err: AwsError): void {
  const type = err.status >= 500 ? 'Receiver' : 'Sender';
  const xml = `<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message></Error><RequestId>${requestId()}</RequestId></ErrorResponse>`;
  send(res, err.status, xml, { 'content-type': 'text/xml' });
}

export function handleSts(state: LabState, res: ServerResponse, body: Buffer): void {
  const form = new URLSearchParams(body.toString('utf8'));
  const action = form.get('Action') ?? '';
  state.count(`sts:${action || 'Unknown'}`);
  try {
    if (action === 'AssumeRole') return assumeRole(state, res, form);
    if (action === 'GetCallerIdentity') {
      state.stsCalls.push({ action, received_at: new Date(state.now()).toISOString() });
      return xmlOk(
        res,
        action,
        `<Arn>arn:aws:iam::${ACCOUNT_ID}:user/lab</Arn><UserId>AIDA${upperAlnum(16)}</UserId><Account>${ACCOUNT_ID}</Account>`,
      );
    }
    throw new AwsError('InvalidAction', 400, `Could not find operation ${action} for version 2011-06-15`);
  } catch (e) {
    if (e instanceof AwsError) return stsError(res, e);
    throw e;
  }
}

function assumeRole(state: LabState, res: ServerResponse, form: URLSearchParams): void {
  const roleArn = form.get('RoleArn') ?? '';
  const session = form.get('RoleSessionName') ?? '';
  const duration = Number(form.get('DurationSeconds') ?? 3600);
  const m = ROLE_ARN.exec(roleArn);
  if (!m) throw new AwsError('ValidationError', 400, `${roleArn || 'RoleArn'} is invalid`);
  if (!/^[\w+=,.@-]{2,64}$/.test(session)) {
    throw new AwsError(
      'ValidationError',
      400,
      "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint",
    );
  }
  if (!Number.isInteger(duration) || duration < 900 || duration > 43_200) {
    throw new AwsError(
      'ValidationError',
      400,
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
  }
  state.stsCalls.push({
    action: 'AssumeRole',
    role_arn: roleArn,
    role_session_name: session,
    duration_seconds: duration,
    ...(form.get('ExternalId') ? { external_id: form.get('ExternalId') as string } : {}),
    received_at: new Date(state.now()).toISOString(),
  });
  const [, account, roleName] = m;
  const roleId = `AROA${upperAlnum(17)}`;
  const expiration = new Date(state.now() + duration * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  xmlOk(
    res,
    'AssumeRole',
    `<AssumedRoleUser><AssumedRoleId>${roleId}:${xmlEscape(session)}</AssumedRoleId><Arn>arn:aws:sts::${account}:assumed-role/${xmlEscape(roleName)}/${xmlEscape(session)}</Arn></AssumedRoleUser>` +
      `<Credentials><AccessKeyId>ASIA${upperAlnum(16)}</AccessKeyId><SecretAccessKey>${randomBytes(30).toString('base64')}</SecretAccessKey><SessionToken>${randomBytes(96).toString('base64')}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
      '<PackedPolicySize>0</PackedPolicySize>',
  );
}
