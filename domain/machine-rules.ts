import { OS_RULES, type PatchOs } from './baseline-override';
import type { Rule } from './request-rules';

const PATCH_FILTERS = [
  'published_days_old',
  'update_severity',
  'update_category',
  'include_kbs',
  'exclude_kbs',
  'enable_non_security',
];

/**
 * The rules of a machine that JSON Schema cannot state, as published in the OpenAPI document. The server's
 * checks (machineSettingIssues, patchFilterIssues) enforce them; test/unit/openapi-rules.test.ts holds the two
 * together.
 */
export const MACHINE_RULES: Rule[] = [
  // SendCommand sends custom_document_parameters as the custom document's Parameters.
  {
    rule: 'requires',
    in: 'body',
    field: 'custom_document_parameters',
    requires: ['custom_document_arn'],
  },
  { rule: 'excludes', in: 'body', field: 'custom_document_parameters', excludes: ['s3_custom_script'] },
  // AWS-RunPatchBaselineWithHooks is its own document and takes no BaselineOverride.
  {
    rule: 'excludes',
    in: 'body',
    field: 'install_hooks',
    excludes: ['s3_custom_script', 'custom_document_arn', ...PATCH_FILTERS],
  },
  { rule: 'disjoint', in: 'body', fields: ['include_kbs', 'exclude_kbs'], case_insensitive: true },
  // A BaselineOverride is per operating system: the filters must fit one OS family's patch baselines.
  {
    rule: 'one_vocabulary',
    in: 'body',
    fields: ['update_severity', 'update_category', 'published_days_old', 'enable_non_security'],
    vocabularies: Object.fromEntries(
      (Object.keys(OS_RULES) as PatchOs[]).map((os) => {
        const r: {
          severities: string[];
          classifications?: string[];
          approveAfterDays: boolean;
          linux: boolean;
        } = OS_RULES[os];
        return [
          os,
          {
            update_severity: r.severities,
            update_category: r.classifications ?? false,
            published_days_old: r.approveAfterDays,
            // EnableNonSecurity: Linux baselines only.
            enable_non_security: r.linux,
          },
        ];
      }),
    ),
  },
];
