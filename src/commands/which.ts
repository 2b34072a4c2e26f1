/**
 * `ports which PORT`: who holds a port — its owner in the registry or in any other registry of
 * the machine index, the listening process (PID, command, working directory), and the container
 * that publishes it. Works without a registry
 * (or with a broken one): the machine's view alone still answers the question.
 * Exit 0 when anything holds the port, 2 when nothing does.
 */
import type { Context } from '../context';
import type { Allocation, Registry } from '../core/registry-schema';
import { ExitCode, PortsError, RegistryCorruptError } from '../errors';
import { listPublishedPorts, type PublishedPort } from '../io/docker';
import { findListeners, type Listener } from '../io/listeners';
import { portsHeldElsewhere, type MachineHolder } from '../io/machine-index';
import { processLiveness } from '../io/process-info';

export interface WhichOptions {
  port: number;
}

async function readRegistry(ctx: Context): Promise<{ registry: Registry | null; file: string | null }> {
  try {
    const store = await ctx.store();
    return { registry: store.readIfExists(), file: store.file };
  } catch (error) {
    // No repository, or a corrupt registry: say so, and still report the machine's side.
    if (error instanceof RegistryCorruptError) ctx.out.warn(error.message);
    else if (error instanceof PortsError) ctx.out.debug(`no registry: ${error.message}`);
    else throw error;
    return { registry: null, file: null };
  }
}

/** The range the port falls in, for a free port: whose it would be. */
function rangesContaining(registry: Registry | null, port: number): string[] {
  if (!registry) return [];
  return Object.entries(registry.ranges)
    .filter(([, r]) => port >= r.start && port <= r.end)
    .map(([name]) => name);
}

function recordedProcess(a: Allocation): { pid: number; alive: boolean } | null {
  if (a.process_id === null) return null;
  const startTime = typeof a.process_start_time === 'string' ? a.process_start_time : null;
  return { pid: a.process_id, alive: processLiveness(a.process_id, startTime) === 'alive' };
}

function describeAllocation(a: Allocation): string {
  const where = a.worktree_path ? ` (${a.worktree_path})` : ' (by name)';
  const recorded = recordedProcess(a);
  const pid = recorded ? `, last seen PID ${recorded.pid}${recorded.alive ? '' : ' (gone now)'}` : '';
  const description = a.description ? ` "${a.description}"` : '';
  return `${a.service} of ${a.worktree}${where}, allocated ${a.allocated_at} by ${a.allocated_by}${description}; health ${a.health_status}${pid}`;
}

function describeListener(l: Listener): string {
  const who = l.pid === null ? 'a process of another user (PID hidden; run as root to see it)' : `PID ${l.pid} ${l.command ?? '?'}`;
  return `${who} on ${l.family === 6 ? `[${l.address}]` : l.address}${l.cwd ? `, cwd ${l.cwd}` : ''}`;
}

function describeContainer(p: PublishedPort): string {
  const compose = p.composeProject ? `, Compose ${p.composeProject}${p.composeService ? `/${p.composeService}` : ''}` : '';
  return `${p.containerName} (${p.image}${compose}) → container port ${p.containerPort}/${p.protocol} on ${p.hostIp}`;
}

export async function which(ctx: Context, options: WhichOptions): Promise<number> {
  const { port } = options;
  const [{ registry, file }, listeners, published] = await Promise.all([
    readRegistry(ctx),
    findListeners([port]),
    listPublishedPorts({ onSkip: (reason) => ctx.out.debug(`docker: ${reason}`) }),
  ]);
  const allocations = (registry?.allocations ?? []).filter((a) => a.port === port);
  const elsewhere = otherRepositories(ctx, file, port);
  const containers = (published ?? []).filter((p) => p.hostPort === port);
  const held = allocations.length > 0 || elsewhere.length > 0 || listeners.length > 0 || containers.length > 0;
  const ranges = rangesContaining(registry, port);

  if (ctx.out.json) {
    ctx.out.data({
      port,
      held,
      registry: file,
      ranges,
      allocations: allocations.map((a) => ({ ...a, process_alive: recordedProcess(a)?.alive ?? null })),
      other_repositories: elsewhere,
      listeners,
      containers: published === null ? null : containers,
    });
    return held ? ExitCode.ok : ExitCode.notFound;
  }
  if (!held) {
    const range = ranges.length ? ` It lies in the ${ranges.join(', ')} range.` : '';
    ctx.out.result(`Port ${port} is free: not in any registry of the machine, nobody listens on it${published === null ? '' : ', no container publishes it'}.${range}`);
    return ExitCode.notFound;
  }
  ctx.out.result(ctx.out.style('bold', `Port ${port}`));
  if (allocations.length === 0 && elsewhere.length === 0) ctx.out.result(`  registry:  not allocated${registry ? '' : ' (no registry)'}${ranges.length ? ` (in the ${ranges.join(', ')} range)` : ''}`);
  for (const a of allocations) ctx.out.result(`  registry:  ${describeAllocation(a)}`);
  for (const h of elsewhere) ctx.out.result(`  other repository: ${h.service} of ${h.worktree} in ${h.repo} (registry ${h.registry})`);
  if (allocations.length > 1) ctx.out.result(`  ${ctx.out.style('red', `allocated ${allocations.length} times`)} — run \`ports check\` to resolve it`);
  if (listeners.length === 0) ctx.out.result('  listening: nobody');
  for (const l of listeners) ctx.out.result(`  listening: ${describeListener(l)}`);
  if (published === null) ctx.out.debug('containers: Docker is not available');
  for (const p of containers) ctx.out.result(`  container: ${describeContainer(p)}`);
  return ExitCode.ok;
}

/** The port's holders in the other registries of the machine index (read leniently, nothing pruned). */
function otherRepositories(ctx: Context, ownRegistry: string | null, port: number): MachineHolder[] {
  const holders: MachineHolder[] = [];
  const view = portsHeldElsewhere(ctx.env, ownRegistry);
  const holder = view.held.get(port);
  if (holder) holders.push(holder);
  return holders;
}
