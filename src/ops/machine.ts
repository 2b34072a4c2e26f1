/**
 * An allocation's part in the machine index (docs/design.md, "The machine"): the repository's
 * entry, the machine lock around pick-and-commit, and the ports every other registry holds.
 */
import * as path from 'node:path';
import type { Context } from '../context';
import type { HeldElsewhere } from '../core/allocation';
import { LockTimeoutError, PortsError, ExitCode } from '../errors';
import type { LockHandle } from '../io/lock';
import {
  acquireMachineLock,
  machineLockTarget,
  indexDir,
  listIndexedRegistries,
  portsHeldElsewhere,
  readRegistryRecords,
  registerRegistry,
  tryMachineLock,
  unregisterRegistry,
  type IndexedRegistry,
} from '../io/machine-index';
import { repoName } from './env-sync';
import { compareText } from '../core/compare';

/** This registry's entry in the index; outside a repository (`--registry` alone), the registry's folder stands for it. */
export async function indexEntryFor(ctx: Context, registryFile: string): Promise<IndexedRegistry> {
  try {
    const repo = await ctx.repo();
    return { registry: registryFile, repo: repo.mainRoot ?? repo.commonDir, name: repoName(repo) };
  } catch {
    return { registry: registryFile, repo: path.dirname(registryFile), name: path.basename(path.dirname(registryFile)) };
  }
}

/** The repository of the current worktree (its main worktree root), recorded in each allocation as `repo`. */
export async function repoOfWorktree(ctx: Context): Promise<string | undefined> {
  try {
    const repo = await ctx.repo();
    return repo.mainRoot ?? repo.commonDir;
  } catch {
    return undefined;
  }
}

/** The state folder cannot be written (read-only home, full disk): allocation goes on, this registry alone. */
function degraded(ctx: Context, error: unknown): null {
  ctx.out.warn(
    `ports: cannot use the machine index (${(error as Error).message}); ports are checked against this registry and the OS only. ` +
      'Make the state folder writable (PORTS_STATE_DIR, XDG_STATE_HOME or ~/.local/state/ports), or set "machine": false in the ports config.',
  );
  return null;
}

/** The machine lock if it is free now (never waits: the caller may hold a registry lock). */
export async function tryTakeMachineLock(ctx: Context): Promise<LockHandle | null | 'unavailable'> {
  try {
    return await tryMachineLock(ctx.env);
  } catch (error) {
    return degraded(ctx, error) ?? 'unavailable';
  }
}

/** Waits for the machine lock; the caller holds no registry lock (machine lock first, always). */
export async function takeMachineLock(ctx: Context): Promise<LockHandle | 'unavailable'> {
  try {
    return await acquireMachineLock(ctx.env, {
      onWait: (holder) => ctx.out.debug(`waiting for the machine lock (held by ${holder})`),
    });
  } catch (error) {
    if (error instanceof LockTimeoutError) {
      throw new PortsError(`Timed out waiting for the machine lock ${machineLockTarget(ctx.env)}.lock: ${error.message}`, {
        exitCode: ExitCode.registry,
        hint: 'Another allocation (in any repository) holds it; if that process is stuck, stop it. A lock whose owner is gone is taken over on its own.',
        cause: error,
      });
    }
    return degraded(ctx, error) ?? 'unavailable';
  }
}

/**
 * Under the machine lock: records this registry (before picking, so the next allocation
 * anywhere sees it), prunes entries whose registry is gone, and returns the ports the other
 * registries hold. Unreadable registries are skipped (with --verbose, named).
 */
export function joinMachine(ctx: Context, entry: IndexedRegistry): HeldElsewhere {
  try {
    registerRegistry(ctx.env, entry);
  } catch (error) {
    ctx.out.warn(`could not record ${entry.registry} in the machine index: ${(error as Error).message}`);
  }
  const view = portsHeldElsewhere(ctx.env, entry.registry, { prune: true });
  for (const gone of view.gone) ctx.out.debug(`machine index: ${gone} is gone; its entry was removed`);
  for (const { registry, reason } of view.unreadable) ctx.out.debug(`machine index: skipped ${registry} (${reason})`);
  const held = new Map<number, string>();
  for (const [port, h] of view.held) held.set(port, `${h.service} of ${h.worktree} (${h.repo}, registry ${h.registry})`);
  return held;
}

/** After a run that picked nothing: keep the entry current (no lock needed, the registry exists), or drop it when opted out. */
export function refreshEntry(ctx: Context, entry: IndexedRegistry, machine: boolean): void {
  try {
    if (machine) registerRegistry(ctx.env, entry);
    else unregisterRegistry(ctx.env, entry.registry);
  } catch (error) {
    ctx.out.warn(`could not record ${entry.registry} in the machine index: ${(error as Error).message}`);
  }
}

/** One allocation of the machine view: the registry's record, with its repository and registry. */
export type MachineAllocation = Record<string, unknown> & { repo: string; registry: string; port: number };

/**
 * Every allocation of every registry of the index (and this repository's, indexed or not),
 * sorted by repository then port. Read leniently, without locks, pruning nothing.
 */
export async function machineAllocations(ctx: Context): Promise<{ records: MachineAllocation[]; unreadable: { registry: string; reason: string }[]; gone: string[]; index: string }> {
  const entries = listIndexedRegistries(ctx.env);
  try {
    const own = await indexEntryFor(ctx, (await ctx.store()).file);
    if (!entries.some((e) => e.registry === own.registry)) entries.push(own);
  } catch {
    // outside a repository: the index alone
  }
  const records: MachineAllocation[] = [];
  const unreadable: { registry: string; reason: string }[] = [];
  const gone: string[] = [];
  for (const entry of entries) {
    const read = readRegistryRecords(entry.registry);
    if (read.state === 'gone') gone.push(entry.registry);
    else if (read.state === 'unreadable') unreadable.push({ registry: entry.registry, reason: read.reason });
    else for (const r of read.records) records.push({ ...r, repo: typeof r.repo === 'string' ? r.repo : entry.repo, registry: entry.registry });
  }
  records.sort((a, b) => compareText(a.repo, b.repo) || a.port - b.port);
  return { records, unreadable, gone, index: indexDir(ctx.env) };
}
