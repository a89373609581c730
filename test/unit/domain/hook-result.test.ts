import {
  HOOK_OUTPUT_MAX_CHARS,
  SCRIPT_OUTPUT_MAX_CHARS,
  normalizeHookAnswer,
  scriptHookResult,
  type HookResult,
  type RawHookAnswer,
} from '../../../domain/hook-result';
import { isHookSuccess, redactSource } from '../../../domain/hooks';

const answer = (body: string, httpStatus?: number): RawHookAnswer => ({ kind: 'answer', body, httpStatus });

describe('normalizeHookAnswer — well-formed answers', () => {
  test.each<[string, RawHookAnswer, HookResult]>([
    [
      'lambda success',
      answer('{"code":200,"msg":"Instances started","output":"i-1,i-2"}'),
      { code: 200, message: 'Instances started', output: 'i-1,i-2' },
    ],
    ['2xx other than 200', answer('{"code":204,"msg":"ok"}'), { code: 204, message: 'ok', output: '' }],
    [
      'hook says failed',
      answer('{"code":503,"msg":"db down","output":"x"}'),
      { code: 503, message: 'db down', output: 'x' },
    ],
    ['code below 200 kept as is (a failure)', answer('{"code":100}'), { code: 100, message: '', output: '' }],
    [
      'non-string output is JSON-stringified',
      answer('{"code":200,"msg":"m","output":{"started":["i-1"]}}'),
      { code: 200, message: 'm', output: '{"started":["i-1"]}' },
    ],
    ['array output', answer('{"code":200,"output":[1,2]}'), { code: 200, message: '', output: '[1,2]' }],
    ['null output → empty', answer('{"code":200,"output":null}'), { code: 200, message: '', output: '' }],
    [
      'non-string msg is stringified',
      answer('{"code":200,"msg":42}'),
      { code: 200, message: '42', output: '' },
    ],
    [
      'extra fields ignored',
      answer('{"code":200,"msg":"a","extra":true}'),
      { code: 200, message: 'a', output: '' },
    ],
    [
      'Lambda returning JSON.stringify(result)',
      answer(JSON.stringify(JSON.stringify({ code: 200, msg: 'wrapped' }))),
      { code: 200, message: 'wrapped', output: '' },
    ],
    [
      'API-Gateway style {statusCode, body}',
      answer(JSON.stringify({ statusCode: 200, body: JSON.stringify({ code: 201, msg: 'gw' }) })),
      { code: 201, message: 'gw', output: '' },
    ],
    [
      'Azure context.res style {status, body:{…}}',
      answer(JSON.stringify({ status: 200, body: { code: 200, msg: 'az' } })),
      { code: 200, message: 'az', output: '' },
    ],
    ['Azure HTTP 200', answer('{"code":200,"msg":"ok"}', 200), { code: 200, message: 'ok', output: '' }],
    [
      'Azure HTTP 500 with a JSON code: the JSON code wins',
      answer('{"code":500,"msg":"boom"}', 500),
      { code: 500, message: 'boom', output: '' },
    ],
    [
      'Azure HTTP 500 but JSON says 200: the JSON code wins',
      answer('{"code":200,"msg":"fine"}', 500),
      { code: 200, message: 'fine', output: '' },
    ],
  ])('%s', (_name, a, expected) => {
    expect(normalizeHookAnswer(a)).toEqual(expected);
  });
});

describe('normalizeHookAnswer — failures become 500 with a message saying which', () => {
  test.each<[string, RawHookAnswer, string, string?]>([
    ['empty body', answer(''), 'hook gave no answer (empty body)'],
    ['whitespace body', answer('  \n'), 'hook gave no answer (empty body)'],
    [
      'non-JSON',
      answer('Internal error <html>'),
      'hook answered non-JSON: Internal error <html>',
      'Internal error <html>',
    ],
    [
      'JSON without code',
      answer('{"msg":"hi"}'),
      'hook answer has no numeric code: {"msg":"hi"}',
      '{"msg":"hi"}',
    ],
    [
      'string code',
      answer('{"code":"200"}'),
      'hook answer has no numeric code: {"code":"200"}',
      '{"code":"200"}',
    ],
    [
      'fractional code',
      answer('{"code":200.5}'),
      'hook answer has no numeric code: {"code":200.5}',
      '{"code":200.5}',
    ],
    ['null code', answer('{"code":null}'), 'hook answer has no numeric code: {"code":null}', '{"code":null}'],
    ['JSON array', answer('[1,2]'), 'hook answer is not a JSON object: [1,2]', '[1,2]'],
    ['JSON number', answer('200'), 'hook answer is not a JSON object: 200', '200'],
    ['JSON null (Lambda returned nothing)', answer('null'), 'hook answer is not a JSON object: null', 'null'],
    [
      'Azure HTTP 502 non-JSON',
      answer('Bad Gateway', 502),
      'HTTP 502: hook answered non-JSON: Bad Gateway',
      'Bad Gateway',
    ],
    ['Azure HTTP 401 empty', answer('', 401), 'HTTP 401: hook gave no answer (empty body)'],
    [
      'Azure HTTP 404 JSON without code',
      answer('{"error":"nope"}', 404),
      'HTTP 404: hook answer has no numeric code: {"error":"nope"}',
      '{"error":"nope"}',
    ],
    [
      'Lambda function error',
      { kind: 'function_error', message: 'Unhandled: TypeError x is undefined' },
      'hook function error: Unhandled: TypeError x is undefined',
    ],
    [
      'transport error after retries',
      { kind: 'transport_error', message: 'ECONNREFUSED 10.0.0.1:443' },
      'hook could not be called: ECONNREFUSED 10.0.0.1:443',
    ],
    ['timeout with duration', { kind: 'timeout', message: 'after 900s' }, 'hook timed out after 900s'],
    ['timeout without detail', { kind: 'timeout' }, 'hook timed out'],
    ['still running at window end', { kind: 'timeout', atWindowEnd: true }, 'hook timed out at window end'],
    [
      'at window end, with detail',
      { kind: 'timeout', atWindowEnd: true, message: 'command c-1 still running' },
      'hook timed out at window end (command c-1 still running)',
    ],
  ])('%s', (_name, a, message, output = '') => {
    const r = normalizeHookAnswer(a);
    expect(r).toEqual({ code: 500, message, output });
    expect(isHookSuccess(r.code)).toBe(false);
  });

  it('cuts the quoted body to 200 characters in the message', () => {
    const body = 'x'.repeat(1000);
    const r = normalizeHookAnswer(answer(body));
    expect(r.message).toBe(`hook answered non-JSON: ${'x'.repeat(200)}…`);
    expect(r.output).toBe(body);
  });

  it('caps a runaway output and says so', () => {
    const r = normalizeHookAnswer(
      answer(JSON.stringify({ code: 200, msg: 'big', output: 'y'.repeat(HOOK_OUTPUT_MAX_CHARS + 10) })),
    );
    expect(r.code).toBe(200);
    expect(r.output).toHaveLength(HOOK_OUTPUT_MAX_CHARS);
    expect(r.message).toBe(`big [output truncated to ${HOOK_OUTPUT_MAX_CHARS} chars]`);
  });
});

describe('scriptHookResult', () => {
  test.each<[string, Parameters<typeof scriptHookResult>[0], number, string]>([
    [
      'exit 0, Success',
      { exitCode: 0, stdout: 'ok', ssmStatus: 'Success' },
      200,
      'script succeeded (SSM Success, exit code 0)',
    ],
    [
      'exit 1, Failed',
      { exitCode: 1, stdout: 'boom', ssmStatus: 'Failed' },
      500,
      'script failed (SSM Failed, exit code 1)',
    ],
    [
      'exit 2 even if SSM said Success',
      { exitCode: 2, stdout: '', ssmStatus: 'Success' },
      500,
      'script failed (SSM Success, exit code 2)',
    ],
    [
      'no exit code, Success',
      { exitCode: undefined, stdout: '', ssmStatus: 'Success' },
      200,
      'script succeeded (SSM Success, no exit code)',
    ],
    [
      'no exit code, TimedOut',
      { exitCode: undefined, stdout: 'partial', ssmStatus: 'TimedOut' },
      500,
      'script failed (SSM TimedOut, no exit code)',
    ],
    [
      '-1, Cancelled',
      { exitCode: -1, stdout: '', ssmStatus: 'Cancelled' },
      500,
      'script failed (SSM Cancelled, no exit code)',
    ],
    [
      'exit 0 but Cancelled',
      { exitCode: 0, stdout: '', ssmStatus: 'Cancelled' },
      500,
      'script failed (SSM Cancelled, exit code 0)',
    ],
    [
      'Undeliverable',
      { exitCode: undefined, stdout: '', ssmStatus: 'Undeliverable' },
      500,
      'script failed (SSM Undeliverable, no exit code)',
    ],
    [
      'Delivery Timed Out',
      { exitCode: undefined, stdout: '', ssmStatus: 'Delivery Timed Out' },
      500,
      'script failed (SSM Delivery Timed Out, no exit code)',
    ],
  ])('%s', (_name, r, code, message) => {
    expect(scriptHookResult(r)).toEqual({ code, message, output: r.stdout });
  });

  test.each([
    [10, 10],
    [SCRIPT_OUTPUT_MAX_CHARS, SCRIPT_OUTPUT_MAX_CHARS],
    [SCRIPT_OUTPUT_MAX_CHARS + 500, SCRIPT_OUTPUT_MAX_CHARS],
  ])('stdout of %i chars is stored as %i chars (the first ones)', (len, kept) => {
    const stdout = 'a'.repeat(len - 1) + 'b';
    const r = scriptHookResult({ exitCode: 0, stdout, ssmStatus: 'Success' });
    expect(r.output).toBe(stdout.slice(0, kept));
  });
});

describe('redactSource', () => {
  it.each([
    ['https://fn.azurewebsites.net/api/stop?code=S3CRET', 'https://fn.azurewebsites.net/api/stop?code=***'],
    ['https://fn.example.com/api/h?code=a&sig=b#frag', 'https://fn.example.com/api/h?code=***&sig=***'],
    ['http://127.0.0.1:4566/_lab/azure/drain', 'http://127.0.0.1:4566/_lab/azure/drain'],
    ['arn:aws:lambda:eu-west-1:123456789012:function:f', 'arn:aws:lambda:eu-west-1:123456789012:function:f'],
    ['s3://bucket/hooks/pre.sh', 's3://bucket/hooks/pre.sh'],
    ['https://[bad', '(invalid url)'],
  ])('%s -> %s', (source, shown) => {
    expect(redactSource(source)).toBe(shown);
  });
});
