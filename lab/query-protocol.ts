import type { ServerResponse } from 'node:http';
import { AwsError, requestId, send, xmlEscape } from './http';

/**
 * The AWS query protocol as Auto Scaling and Elastic Load Balancing v2 speak it (botocore's `query` protocol):
 * a form-encoded `POST /` with `Action` and `Version`, lists as `Name.member.N`, answers
 * `<{Action}Response xmlns=…><{Action}Result>…</{Action}Result><ResponseMetadata>…`, errors
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
 */

/** One exchange as the contract test records it (scripts/aws-contract/validate.py checks the query protocol). */
export interface QueryExchange {
  service: string;
  protocol: 'query';
  operation: string;
  request: Record<string, string>;
  status: number;
  response: string;
}

/** A query-protocol list: `Name.member.1`, `Name.member.2`, … (1-based, contiguous). */
export function members(form: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; form.has(`${name}.member.${i}`); i++) out.push(form.get(`${name}.member.${i}`) as string);
  return out;
}

/** A 200 answer: the action's result inside its response, in the service's namespace. */
export function queryOk(ns: string, action: string, result: string): string {
  return `<${action}Response xmlns="${ns}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>${requestId()}</RequestId></ResponseMetadata></${action}Response>`;
}

/** Serves one call: `handle` answers the result XML or throws an AwsError, which becomes the protocol's error. */
export function serveQuery(
  service: { name: string; ns: string; handle: (action: string, form: URLSearchParams) => string },
  res: ServerResponse,
  body: Buffer,
  count: (op: string) => void,
  record?: (ex: QueryExchange) => void,
): void {
  const form = new URLSearchParams(body.toString('utf8'));
  const action = form.get('Action') ?? '';
  count(`${service.name}:${action || 'Unknown'}`);
  let status = 200;
  let xml: string;
  try {
    xml = service.handle(action, form);
  } catch (e) {
    if (!(e instanceof AwsError)) throw e;
    status = e.status;
    const type = e.status >= 500 ? 'Receiver' : 'Sender';
    xml = `<ErrorResponse xmlns="${service.ns}"><Error><Type>${type}</Type><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message></Error><RequestId>${requestId()}</RequestId></ErrorResponse>`;
  }
  send(res, status, xml, { 'content-type': 'text/xml' });
  record?.({
    service: service.name,
    protocol: 'query',
    operation: action,
    request: Object.fromEntries(form.entries()),
    status,
    response: xml,
  });
}
