/**
 * Ports that running containers still publish must not go back to the pool silently: the next
 * worktree would get a port a container holds. Before `remove` or `release` gives up a
 * worktree's ports, its Compose project (the worktree's COMPOSE_PROJECT_NAME) is looked up with
 * `docker ps`; running containers are stopped on request, or the command refuses with the
 * command that stops them. No Docker on the machine is not an error.
 */
import type { Context } from '../context';
import { ConflictError, PortsError, ExitCode } from '../errors';
import { detectComposeClient, runningProjectContainers, stopComposeProject } from '../io/docker';
import { projectNameFor } from './env-sync';

export async function settleRunningContainers(ctx: Context, worktreeRoot: string, options: { stop: boolean }): Promise<void> {
  const project = await projectNameFor(ctx, worktreeRoot);
  const running = await runningProjectContainers(project, { timeoutMs: 5000, env: ctx.env, onSkip: (reason) => ctx.out.debug(`containers not checked: ${reason}`) });
  if (!running || running.length === 0) return;
  const client = detectComposeClient(ctx.env);
  const down = `${client?.command ?? 'docker compose'} -p ${project} down`;
  const what = `${running.length} container${running.length === 1 ? '' : 's'} of the Compose project ${project} (${running.join(', ')})`;
  if (!options.stop) {
    throw new ConflictError(
      `${what} still run${running.length === 1 ? 's' : ''} and may publish the worktree's ports; nothing was released.`,
      `Stop ${running.length === 1 ? 'it' : 'them'} with \`${down}\` (in ${worktreeRoot}), or run again with --stop-containers.`,
    );
  }
  ctx.out.info(`ports: stopping ${what}`);
  const failure = stopComposeProject(project, worktreeRoot, client, ctx.env);
  const left = await runningProjectContainers(project, { timeoutMs: 5000, env: ctx.env });
  if (failure || (left && left.length > 0)) {
    throw new PortsError(`Could not stop ${what}${failure ? `: ${failure}` : ''}; nothing was released.`, { exitCode: ExitCode.conflict, hint: `Stop them with \`${down}\` (in ${worktreeRoot}), then run the command again.` });
  }
}
