/**
 * `ports status [--all | --worktree NAME | --machine]` (alias `list`): read-only views of the
 * registry, or with --machine of every registry of the machine index.
 * Without a flag: the current worktree's ports (none: an empty answer, exit 0, in every format);
 * outside a worktree (--registry alone): every worktree's. `--worktree NAME` that holds no
 * ports is not found (exit 2) in every format.
 * `--json` prints the selected allocation records exactly as the registry stores them.
 * `--check` runs the health check on the selection first. The text views name the container
 * publishing a port when Docker answers (`docker ps`; skipped silently when it does not).
 */
import type { Context } from '../context';
import { describePortSet, unallocatedPorts, takenPorts } from '../core/allocation';
import type { Allocation, Registry } from '../core/registry-schema';
import { NotFoundError, UsageError } from '../errors';
import { machineAllocations, type MachineAllocation } from '../ops/machine';
import * as path from 'node:path';
import { renderTable } from '../output';

export interface StatusOptions {
  all: boolean;
  worktree?: string;
  check?: boolean;
  /** Every repository of the machine index. */
  machine?: boolean;
}

type Selection = { kind: 'all' } | { kind: 'worktree'; name: string; path?: string };

async function select(ctx: Context, registry: Registry, options: StatusOptions): Promise<Selection> {
  if (options.all) return { kind: 'all' };
  if (options.worktree !== undefined) return { kind: 'worktree', name: options.worktree };
  let root: string | null = null;
  try {
    root = (await ctx.repo()).worktreeRoot;
  } catch {
    // --registry outside a repository: everything
  }
  if (root) return { kind: 'worktree', name: root.split(/[\\/]/).pop() ?? root, path: root };
  return { kind: 'all' };
}

function statusCell(a: Allocation, ctx: Context): string {
  const colors = { healthy: 'green', unhealthy: 'red', not_running: 'yellow', unknown: 'dim' } as const;
  return ctx.out.style(colors[a.health_status], a.health_status);
}

function inSelection(selection: Selection): (a: Allocation) => boolean {
  if (selection.kind === 'all') return () => true;
  return (a) => (selection.path ? a.worktree_path === selection.path : a.worktree === selection.name);
}

async function containersByPort(ctx: Context): Promise<Map<number, string>> {
  const { listPublishedPorts } = await import('../io/docker');
  const published = (await listPublishedPorts({ onSkip: (reason) => ctx.out.debug(`containers not shown: ${reason}`) })) ?? [];
  return new Map(published.map((p) => [p.hostPort, p.containerName]));
}

export async function status(ctx: Context, options: StatusOptions): Promise<number> {
  if (options.machine) {
    if (options.all || options.worktree !== undefined || options.check) {
      throw new UsageError('--machine shows every repository; it takes no --all, --worktree or --check.', 'Run `ports status --machine`, or drop --machine.');
    }
    return machineStatus(ctx);
  }
  const store = await ctx.store();
  let registry = store.read();
  const selection = await select(ctx, registry, options);
  if (options.check) {
    const { refreshHealth } = await import('../ops/health-check');
    await refreshHealth(ctx, inSelection(selection));
    registry = store.read();
  }
  const selected = registry.allocations.filter(inSelection(selection));
  if (selection.kind === 'worktree' && !selection.path && selected.length === 0) {
    throw new NotFoundError(`Worktree "${selection.name}" holds no ports.`, 'See every allocation with `ports status --all`.');
  }
  const sorted = [...selected].sort((a, b) => a.port - b.port);
  if (ctx.out.json) {
    ctx.out.data(sorted);
    return 0;
  }
  if (ctx.out.quiet) {
    sorted.forEach((a) => ctx.out.result(String(a.port)));
    return 0;
  }
  const containers = sorted.length ? await containersByPort(ctx) : new Map<number, string>();
  const containerCell = (a: Allocation) => (containers.has(a.port) ? [containers.get(a.port) as string] : containers.size ? ['-'] : []);
  const containerHeader = containers.size ? ['CONTAINER'] : [];
  if (selection.kind === 'worktree' && sorted.length === 0) {
    ctx.out.info(`Worktree ${selection.name} holds no ports (\`ports allocate\` gives it some; \`ports status --all\` shows every worktree).`);
    return 0;
  }
  if (selection.kind === 'worktree') {
    ctx.out.result(ctx.out.style('bold', `Worktree ${selection.name}`));
    const rows = sorted.map((a) => [String(a.port), a.service, a.description, statusCell(a, ctx), a.process_id === null ? '-' : String(a.process_id), ...containerCell(a)]);
    for (const line of renderTable(['PORT', 'SERVICE', 'DESCRIPTION', 'STATUS', 'PID', ...containerHeader], rows)) ctx.out.result(line);
    if (!options.all) ctx.out.info(ctx.out.style('dim', '(this worktree; `ports status --all` for every worktree)'));
    return 0;
  }
  const taken = takenPorts(registry);
  const worktrees = new Set<string>();
  for (const [service, range] of Object.entries(registry.ranges)) {
    const mine = sorted.filter((a) => a.service === service);
    const free = unallocatedPorts(range, taken);
    ctx.out.result(`${ctx.out.style('bold', service)}  ${range.start}-${range.end}  ${ctx.out.style('dim', range.description)}`);
    const rows = mine.map((a) => {
      worktrees.add(a.worktree_path ?? `name:${a.worktree}`);
      return [`  ${a.port}`, a.worktree + (a.worktree_path ? '' : ' (by name)'), statusCell(a, ctx), a.process_id === null ? '-' : String(a.process_id), ...containerCell(a), a.description];
    });
    if (rows.length) for (const line of renderTable(['  PORT', 'WORKTREE', 'STATUS', 'PID', ...containerHeader, 'DESCRIPTION'], rows)) ctx.out.result(line);
    ctx.out.result(`  Available: ${free.length ? `${describePortSet(free)} (${free.length} port${free.length === 1 ? '' : 's'})` : 'none'}`);
    ctx.out.result('');
  }
  const orphans = sorted.filter((a) => !Object.prototype.hasOwnProperty.call(registry.ranges, a.service));
  if (orphans.length) ctx.out.result(`Allocations of unknown services: ${orphans.map((a) => `${a.port} (${a.service})`).join(', ')} — see \`ports check\`.`);
  ctx.out.result(`Total: ${registry.allocations.length} port${registry.allocations.length === 1 ? '' : 's'} allocated to ${worktrees.size} worktree${worktrees.size === 1 ? '' : 's'}; registry ${store.file}`);
  return 0;
}

/** `--machine`: every repository's allocations, read leniently and without locks; the index is not pruned here (reads never write). */
async function machineStatus(ctx: Context): Promise<number> {
  const { records, unreadable, gone, index } = await machineAllocations(ctx);
  for (const { registry, reason } of unreadable) ctx.out.warn(`skipped ${registry}: cannot read it (${reason})`);
  for (const registry of gone) ctx.out.debug(`machine index: ${registry} is gone (its entry goes at the next allocation)`);
  if (ctx.out.json) {
    ctx.out.data(records);
    return 0;
  }
  if (ctx.out.quiet) {
    records.forEach((r) => ctx.out.result(String(r.port)));
    return 0;
  }
  const byRepo = new Map<string, MachineAllocation[]>();
  for (const r of records) byRepo.set(r.repo, [...(byRepo.get(r.repo) ?? []), r]);
  for (const [repo, list] of byRepo) {
    const registries = [...new Set(list.map((r) => r.registry))];
    ctx.out.result(`${ctx.out.style('bold', path.basename(repo))}  ${repo}  ${ctx.out.style('dim', `registry ${registries.join(', ')}`)}`);
    const rows = list.map((r) => [
      `  ${r.port}`,
      text(r.service),
      text(r.worktree) + (typeof r.worktree_path === 'string' ? '' : ' (by name)'),
      text(r.health_status),
      text(r.description),
    ]);
    for (const line of renderTable(['  PORT', 'SERVICE', 'WORKTREE', 'STATUS', 'DESCRIPTION'], rows)) ctx.out.result(line);
    ctx.out.result('');
  }
  ctx.out.result(`Total: ${records.length} port${records.length === 1 ? '' : 's'} in ${byRepo.size} repositor${byRepo.size === 1 ? 'y' : 'ies'}; machine index ${index}`);
  return 0;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
