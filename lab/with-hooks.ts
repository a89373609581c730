/**
 * How an AWS-RunPatchBaselineWithHooks invocation shows its steps (ListCommandInvocations' CommandPlugins, and
 * GetCommandInvocation for one step), following AWS's documented order: Scan, a check of the patch states, the
 * pre-install hook, Install with NoReboot, the post-install hook, a reboot check, the reboot (Install with
 * RebootIfNeeded, only when a reboot happens), the on-exit hook. With nothing to install the run goes straight to
 * the on-exit hook; a failed step (an install that fails, a hook document that does not exist) skips to the
 * on-exit hook and the invocation ends Failed. The steps share the invocation's real time span.
 */
import { WITH_HOOKS_STEPS, patchOperation } from './documents';
import type { Invocation, InvocationView } from './invocation';

export interface StepView {
  name: string;
  status: string;
  details: string;
  responseCode: number;
  startedAt: number | null;
  endedAt: number | null;
  output: string;
}

export function withHooksSteps(inv: Invocation, v: InvocationView, installOutput: string): StepView[] {
  const params = inv.command.parameters;
  if (v.startedAt === null || !v.terminal || (v.status !== 'Success' && v.status !== 'Failed'))
    return WITH_HOOKS_STEPS.map((st) => ({
      name: st.name,
      status: v.status,
      details: v.details,
      responseCode: v.terminal ? -1 : -1,
      startedAt: v.startedAt,
      endedAt: v.terminal ? v.endedAt : null,
      output: '',
    }));
  const s = v.startedAt;
  const e = v.endedAt ?? s;
  const workEnd = inv.rebootStart ?? e;
  const d = workEnd - s;
  const at = (f: number) => Math.round(s + d * f);
  const install = patchOperation(params) === 'Install';
  const nothingToDo = inv.entry.outcome === 'no_updates' && inv.rebootStart === null;
  const failedHook = inv.failedHook;
  const installFailed = inv.entry.outcome === 'failed' && !failedHook;
  const doc = (p?: string) => (p ? (params[p]?.[0] ?? 'AWS-Noop') : '');
  const spans: Record<string, [number, number]> = {
    PatchScan: [s, at(0.1)],
    VerifyLocalPatchStates: [at(0.1), at(0.1)],
    PreInstallHook: [at(0.1), at(0.2)],
    InstallWithNoReboot: [at(0.2), at(0.8)],
    PostInstallHook: [at(0.8), at(0.9)],
    VerifyReboot: [at(0.9), at(0.9)],
    RebootAndReport: [at(0.9), inv.rebootEnd ?? at(0.9)],
    OnExitHook: [inv.rebootEnd ?? at(0.9), e],
  };
  let skipping = !install ? 'after-verify' : nothingToDo ? 'to-exit' : '';
  const out: StepView[] = [];
  for (const st of WITH_HOOKS_STEPS) {
    const [from, to] = spans[st.name];
    const skippedHere =
      (skipping === 'after-verify' && st.name !== 'PatchScan' && st.name !== 'VerifyLocalPatchStates') ||
      (skipping === 'to-exit' &&
        st.name !== 'OnExitHook' &&
        st.name !== 'PatchScan' &&
        st.name !== 'VerifyLocalPatchStates') ||
      (st.name === 'RebootAndReport' && inv.rebootStart === null);
    if (skippedHere) {
      out.push({
        name: st.name,
        status: 'Success',
        details: 'Success',
        responseCode: 0,
        startedAt: from,
        endedAt: from,
        output: `Step execution skipped due to unsatisfied preconditions: '"StringEquals": [{{ Operation }}, Install]' failed for step ${st.name}`,
      });
      continue;
    }
    const fails = (st.hook && st.hook === failedHook) || (st.name === 'InstallWithNoReboot' && installFailed);
    const output = st.hook
      ? fails
        ? `Running document ${doc(st.hook)}\nfailed to run document ${doc(st.hook)}: InvalidDocument: Document with name ${doc(st.hook)} does not exist.`
        : `Running document ${doc(st.hook)}\nDocument ${doc(st.hook)} completed: Success`
      : st.name === 'InstallWithNoReboot'
        ? installOutput
        : st.name === 'PatchScan'
          ? 'Scan operation completed; compliance uploaded.'
          : st.name === 'RebootAndReport'
            ? 'Install with RebootIfNeeded: the instance was rebooted; compliance uploaded.'
            : `${st.name}: done`;
    out.push({
      name: st.name,
      status: fails ? 'Failed' : 'Success',
      details: fails ? 'Failed' : 'Success',
      responseCode: fails ? 1 : 0,
      startedAt: from,
      endedAt: to,
      output,
    });
    // A failed step goes straight to the on-exit hook.
    if (fails && st.name !== 'OnExitHook') skipping = 'to-exit';
  }
  return out;
}
