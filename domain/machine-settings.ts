import type { MachineInput } from './machine';

/**
 * Machine settings that are each valid alone but together would send something other than what the operator
 * wrote: refused when the machine is saved (400 naming the field), never silently dropped at run time.
 */
export function machineSettingIssues(m: Partial<MachineInput>): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const params = m.custom_document_parameters;
  if (params && Object.keys(params).length > 0) {
    if (!m.custom_document_arn)
      out.push({
        path: 'custom_document_parameters',
        message: 'needs custom_document_arn: they are the Parameters of that document in SendCommand',
      });
    else if (m.s3_custom_script)
      out.push({
        path: 'custom_document_parameters',
        message: 'would not be sent: s3_custom_script replaces the custom document when both are set',
      });
  }
  if (
    m.install_hooks &&
    (m.install_hooks.pre_install || m.install_hooks.post_install || m.install_hooks.on_exit)
  ) {
    if (m.s3_custom_script || m.custom_document_arn)
      out.push({
        path: 'install_hooks',
        message: `would not run: ${m.s3_custom_script ? 's3_custom_script' : 'custom_document_arn'} replaces AWS-RunPatchBaselineWithHooks`,
      });
    const filters = (
      [
        'published_days_old',
        'update_severity',
        'update_category',
        'include_kbs',
        'exclude_kbs',
        'enable_non_security',
      ] as const
    ).filter((f) => {
      const v = m[f];
      return Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null;
    });
    if (filters.length)
      out.push({
        path: 'install_hooks',
        message: `cannot be combined with ${filters.join(', ')}: AWS-RunPatchBaselineWithHooks takes no BaselineOverride`,
      });
  }
  return out;
}
