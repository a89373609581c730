import { discoveredMachineInput, MachineInput } from '../../../domain/machine';
import { machineSettingIssues } from '../../../domain/machine-settings';

describe('discoveredMachineInput (a machine a dynamic plan found in SSM)', () => {
  it('takes the machine defaults of the domain, SSM computer name and an AWS provider for i- IDs', () => {
    expect(
      discoveredMachineInput({
        ssmMachineId: 'i-0123456789abcdef0',
        computerName: ' web-1 ',
        region: 'eu-west-1',
      }),
    ).toEqual({
      name: 'web-1',
      provider: 'AWS',
      metadata: [],
      access: { ssm_machine_id: 'i-0123456789abcdef0', region: 'eu-west-1' },
      reboot_policy: 'IF_NEEDED',
    });
  });

  it('names a hybrid (mi-) machine ON_PREMISE, falls back to its SSM ID for a name and keeps the role', () => {
    const role = 'arn:aws:iam::123456789012:role/patch';
    expect(
      discoveredMachineInput({ ssmMachineId: 'mi-0123456789abcdef0', region: 'us-east-1', iamRole: role }),
    ).toMatchObject({
      name: 'mi-0123456789abcdef0',
      provider: 'ON_PREMISE',
      access: { ssm_machine_id: 'mi-0123456789abcdef0', region: 'us-east-1', iam_role: role },
    });
  });
});

describe('machineSettingIssues (combinations refused at save)', () => {
  it('custom_document_parameters need custom_document_arn', () => {
    expect(machineSettingIssues({ custom_document_parameters: { Mode: ['x'] } })).toEqual([
      { path: 'custom_document_parameters', message: expect.stringMatching(/needs custom_document_arn/) },
    ]);
  });
  it('are refused when a custom script would replace the document', () => {
    expect(
      machineSettingIssues({
        custom_document_arn: 'Doc',
        s3_custom_script: 's3://b/k.sh',
        custom_document_parameters: { Mode: ['x'] },
      }).map((i) => i.path),
    ).toEqual(['custom_document_parameters']);
  });
  it('accepts them with the document, and an empty map alone', () => {
    expect(
      machineSettingIssues({ custom_document_arn: 'Doc', custom_document_parameters: { Mode: ['x'] } }),
    ).toEqual([]);
    expect(machineSettingIssues({ custom_document_parameters: {} })).toEqual([]);
  });
  it('the schema refuses a parameter name SSM cannot have', () => {
    const r = MachineInput.safeParse({
      name: 'm',
      access: { ssm_machine_id: 'i-0123456789abcdef0', region: 'eu-west-1' },
      custom_document_arn: 'Doc',
      custom_document_parameters: { 'bad name': ['x'] },
    });
    expect(r.success).toBe(false);
  });
});
