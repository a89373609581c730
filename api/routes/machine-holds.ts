import { holdActive, holdUntilIssue, MachineHoldInput, type MachineHold } from '../../domain/machine-hold';
import { notFound, refusal } from '../errors';
import { writeAudit } from '../audit-log';
import { route } from '../route-table';
import { IdParams, MachineView } from '../schemas';
import { presentMachines } from './machines';

/**
 * Machine holds (docs/behaviour.md#machine-holds): PUT puts one machine on hold with a reason and an expiry,
 * DELETE ends the hold early. Both are in the audit log; events omit a held machine ("on hold: …").
 */
export const machineHoldRoutes = [
  route({
    method: 'put',
    path: '/api/v1/machines/:id/hold',
    operationId: 'holdMachine',
    summary: 'Put a machine on hold: events omit it (OMITTED, "on hold") until the hold ends',
    description:
      "Replaces a hold the machine already has. `until` must be in the future and at most 60 days after the machine's last patch (its creation if it was never patched); the hold ends by itself then.",
    tag: 'machines',
    permission: { resource: 'machine', action: 'update', idParam: 'id' },
    params: IdParams,
    body: MachineHoldInput,
    // `until` in the future is a rule of the request alone (400); the 60-day cap depends on the stored machine's
    // last patch, so a request that passes it alone and breaks it is a conflict with what is stored (409).
    rules: [{ rule: 'not_in_past', in: 'body', field: 'until', minutes: 0 }],
    response: { status: 200, description: 'The machine, on hold', schema: MachineView },
    errors: [409],
    async handle({ api, params, body, actor }) {
      const machine = await api.machines.get(actor.customer_id, params.id);
      if (!machine) throw notFound('machine', params.id);
      const issue = holdUntilIssue(body.until, machine, Date.now());
      if (issue)
        throw refusal([
          {
            in: 'body',
            path: 'until',
            message: issue.message,
            ...(issue.kind === 'cap' ? { code: 'conflicts_with_stored' as const } : {}),
          },
        ]);
      const hold: MachineHold = {
        reason: body.reason,
        until: new Date(Date.parse(body.until)).toISOString(),
        set_by: actor.api_key_id,
        set_at: new Date().toISOString(),
      };
      const before = holdActive(machine.hold, Date.now()) ? machine.hold : undefined;
      const held = await api.machines.setHold(actor.customer_id, params.id, hold);
      if (!held) throw notFound('machine', params.id);
      await writeAudit(api, actor, {
        action: 'hold',
        resource: 'machine',
        resource_id: params.id,
        ...(before ? { before: { hold: before } } : {}),
        after: { hold },
      });
      return (await presentMachines(api, actor.customer_id, [held]))[0];
    },
  }),
  route({
    method: 'delete',
    path: '/api/v1/machines/:id/hold',
    operationId: 'releaseMachine',
    summary: "End a machine's hold now (nothing changes when it has none)",
    tag: 'machines',
    permission: { resource: 'machine', action: 'update', idParam: 'id' },
    params: IdParams,
    response: { status: 200, description: 'The machine, not on hold', schema: MachineView },
    async handle({ api, params, actor }) {
      if (!(await api.machines.get(actor.customer_id, params.id))) throw notFound('machine', params.id);
      const ended = await api.machines.clearHold(actor.customer_id, params.id);
      if (ended)
        await writeAudit(api, actor, {
          action: 'release',
          resource: 'machine',
          resource_id: params.id,
          before: { hold: ended },
          details: holdActive(ended, Date.now()) ? undefined : { expired: true },
        });
      const machine = await api.machines.get(actor.customer_id, params.id);
      if (!machine) throw notFound('machine', params.id);
      return (await presentMachines(api, actor.customer_id, [machine]))[0];
    },
  }),
];
