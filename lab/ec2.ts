import type { ServerResponse } from 'node:http';
import { AwsError, requestId, send, xmlEscape } from './http';
import type { LabState } from './state';
import { applyTags, overTagLimit, tagProblem } from './tags';

/**
 * EC2 over its query protocol (form-encoded `POST /` with `Action` and `Version=2016-11-15`, XML answers in the
 * EC2 namespace, errors as `<Response><Errors><Error>`), as botocore's `ec2` model and the EC2 API reference
 * describe it. Only CreateTags: the patch-date tag on EC2 instances (`i-…`) the lab knows.
 */

export const EC2_VERSION = '2016-11-15';
const NS = `http://ec2.amazonaws.com/doc/${EC2_VERSION}/`;
const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;

export function ec2Error(res: ServerResponse, err: AwsError): string {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message></Error></Errors><RequestID>${requestId()}</RequestID></Response>`;
  send(res, err.status, xml, { 'content-type': 'text/xml;charset=UTF-8' });
  return xml;
}

/** `Name.1`, `Name.2`, … in order (EC2 list members are 1-based and contiguous). */
function indexed(form: URLSearchParams, prefix: string, suffix = ''): string[] {
  const out: string[] = [];
  for (let i = 1; form.has(`${prefix}.${i}${suffix}`); i++)
    out.push(form.get(`${prefix}.${i}${suffix}`) as string);
  return out;
}

function createTags(state: LabState, form: URLSearchParams): string {
  const ids = indexed(form, 'ResourceId');
  if (ids.length === 0)
    throw new AwsError('MissingParameter', 400, 'The request must contain the parameter resourceIdSet');
  const keys = indexed(form, 'Tag', '.Key');
  const tags = keys.map((key, i) => ({ key, value: form.get(`Tag.${i + 1}.Value`) ?? '' }));
  if (tags.length === 0)
    throw new AwsError('MissingParameter', 400, 'The request must contain the parameter tagSet');
  for (const t of tags) {
    const why = tagProblem(t.key, t.value);
    if (why)
      throw new AwsError(
        'InvalidParameterValue',
        400,
        `Value (${t.key}) for parameter key is invalid: ${why}`,
      );
  }
  const machines = ids.map((id) => {
    if (!INSTANCE_ID.test(id)) throw new AwsError('InvalidID', 400, `The ID '${id}' is not valid`);
    const m = state.machines.get(id);
    if (!m) throw new AwsError('InvalidInstanceID.NotFound', 400, `The instance ID '${id}' does not exist`);
    return m;
  });
  if (machines.some((m) => overTagLimit(m, tags)))
    throw new AwsError(
      'TagLimitExceeded',
      400,
      'The maximum number of Tags for a resource has been reached.',
    );
  if (form.get('DryRun') === 'true')
    throw new AwsError('DryRunOperation', 412, 'Request would have succeeded, but DryRun flag is set.');
  for (const m of machines) applyTags(m, tags);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<CreateTagsResponse xmlns="${NS}"><requestId>${requestId()}</requestId><return>true</return></CreateTagsResponse>`;
}

export function handleEc2(state: LabState, res: ServerResponse, body: Buffer): void {
  const form = new URLSearchParams(body.toString('utf8'));
  const action = form.get('Action') ?? '';
  state.count(`ec2:${action || 'Unknown'}`);
  const request = Object.fromEntries(form.entries());
  let status = 200;
  let xml: string;
  try {
    if (action !== 'CreateTags')
      throw new AwsError('InvalidAction', 400, `The action ${action} is not valid for this web service.`);
    xml = createTags(state, form);
    send(res, 200, xml, { 'content-type': 'text/xml;charset=UTF-8' });
  } catch (e) {
    if (!(e instanceof AwsError)) throw e;
    status = e.status;
    xml = ec2Error(res, e);
  }
  state.traffic?.push({ service: 'ec2', protocol: 'ec2', operation: action, request, status, response: xml });
}
