/**
 * Script host hooks receive the hook payload as a file (docs/behaviour.md#hook-payload): the lines Patchwave puts
 * before the script, for Linux and Windows, read back by the lab's script runner as a machine would run them.
 */
import { scriptCommand } from '../../../domain/patch-command';
import { payloadWithin, PAYLOAD_FILE_VAR, PAYLOAD_MAX_BASE64 } from '../../../domain/script-hook-payload';
import { scriptFiles, scriptPrints } from '../../../lab/script-runner';

const payload = {
  event_id: 'pln_x-20261201T030000Z',
  customer_id: 'cus_1',
  machines: [{ id: 'mch_1', status: 'SUCCESS', name: "web's 1" }],
  hook_outputs: [
    { code: 200, message: 'ok', output: 'a "quoted" $HOME `x` line\n', hook: { type: 'lambda' } },
  ],
};
const b64 = (s: string) => Buffer.from(s).toString('base64');
const b64Len = (j: string) => b64(j).length;

test.each(['Linux', 'Windows'] as const)(
  '%s: the payload file is written before the script, after its #! line',
  (platform) => {
    const json = JSON.stringify(payload);
    const body =
      platform === 'Linux'
        ? '#!/bin/sh\ncat "$PATCHWAVE_HOOK_PAYLOAD_FILE"\n'
        : 'Get-Content -Raw $env:PATCHWAVE_HOOK_PAYLOAD_FILE\n';
    const spec = scriptCommand(platform, body, 's3://b/hook', b64(json));
    if (spec.kind !== 'script') throw new Error('not a script');
    const lines = spec.parameters.commands;
    if (platform === 'Linux') {
      expect(spec.documentName).toBe('AWS-RunShellScript');
      expect(lines[0]).toBe('#!/bin/sh');
      expect(lines.at(-1)).toBe('cat "$PATCHWAVE_HOOK_PAYLOAD_FILE"');
      expect(lines).toContain(`export ${PAYLOAD_FILE_VAR}`);
    } else {
      expect(spec.documentName).toBe('AWS-RunPowerShellScript');
      expect(lines[0]).toMatch(/^\$env:PATCHWAVE_HOOK_PAYLOAD_FILE = /);
      expect(lines.at(-1)).toBe('Get-Content -Raw $env:PATCHWAVE_HOOK_PAYLOAD_FILE');
    }
    // What the machine would have in the file and print: exactly the JSON, quotes and all.
    expect(JSON.parse(scriptFiles(spec.documentName, lines)[PAYLOAD_FILE_VAR])).toEqual(payload);
    expect(scriptPrints(spec.documentName, lines)).toBe(`${json}\n`);
  },
);

test('without a payload (a patch script) the script is sent as it is', () => {
  const spec = scriptCommand('Linux', '#!/bin/sh\necho hi\n', 's3://b/patch.sh');
  expect(spec.parameters).toEqual({ commands: ['#!/bin/sh', 'echo hi'] });
});

test('a payload too large for a command has its longest earlier hook outputs shortened, nothing else', () => {
  const big = {
    ...payload,
    hook_outputs: [
      { ...payload.hook_outputs[0], output: 'x'.repeat(60_000) },
      { ...payload.hook_outputs[0], output: 'short' },
    ],
  };
  const json = payloadWithin(big, b64Len);
  expect(b64Len(json)).toBeLessThanOrEqual(PAYLOAD_MAX_BASE64);
  const back = JSON.parse(json) as typeof big;
  expect(back.machines).toEqual(big.machines);
  expect(back.hook_outputs[1].output).toBe('short');
  expect(back.hook_outputs[0].output).toMatch(/^x+…\[shortened\]$/);
  // A payload that fits goes as it is.
  expect(payloadWithin(payload, b64Len)).toBe(JSON.stringify(payload));
});
