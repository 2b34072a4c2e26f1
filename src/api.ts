/**
 * The port system's functions as a TypeScript API. Each call runs the same code as the CLI on
 * the registry of the repository around `options.cwd` (default: process.cwd()).
 */
import { createContext, type Context } from './context';
import { ownsAllocation } from './core/allocation';
import type { Allocation } from './core/registry-schema';
import { NotFoundError } from './errors';
import { createOutput } from './output';
import { ensureAllocations } from './ops/ensure';
import { releaseAllocations } from './ops/release';
import { resolveOwner } from './ops/owner';
import { snapshotForName } from './ops/reconcile';

export interface ApiOptions {
  /** Directory inside the repository (default: process.cwd()). */
  cwd?: string;
  /** Registry file instead of the repository's (like --registry). */
  registry?: string;
  /** Config file instead of searching (like --config). */
  config?: string;
  env?: NodeJS.ProcessEnv;
}

const silent = { write: () => true };

export function apiContext(options: ApiOptions = {}): Context {
  const out = createOutput({ stdout: silent, stderr: silent }, { json: false, quiet: true, verbose: false, color: false });
  return createContext(
    { json: false, quiet: true, verbose: false, color: false, cwd: options.cwd ?? process.cwd(), config: options.config, registry: options.registry },
    { env: options.env ?? process.env, out },
  );
}

/**
 * Allocates (or returns the already held) port of `service` for `worktree` — a worktree's folder
 * name, or any name for something that is not a worktree. Returns the port.
 */
export async function allocatePort(service: string, worktree?: string, description?: string, options: ApiOptions & { port?: number } = {}): Promise<number> {
  const ctx = apiContext(options);
  const snapshot = await snapshotForName(ctx, worktree);
  const owner = await resolveOwner(ctx, worktree, snapshot === 'when-needed' ? null : snapshot);
  const result = await ensureAllocations(ctx, { owner, services: [{ name: service, description }], port: options.port, snapshot });
  return (result.outcomes[0] as { allocation: Allocation }).allocation.port;
}

/** Releases one port; returns its allocation record. Throws NotFoundError when it is not allocated. */
export async function releasePort(port: number, options: ApiOptions = {}): Promise<Allocation> {
  const ctx = apiContext(options);
  const store = await ctx.store();
  return store.update(async (registry, tx) => {
    if (!registry.allocations.some((a) => a.port === port)) throw new NotFoundError(`Port ${port} is not in the registry.`, 'See what is allocated with `ports status --all`.');
    const [removed] = await releaseAllocations(ctx, registry, tx, (a) => a.port === port);
    return removed as Allocation;
  });
}

/** The allocations of `worktree` (a name; default: the current worktree), or of all when `worktree` is null. */
export async function listAllocatedPorts(worktree?: string | null, options: ApiOptions = {}): Promise<Allocation[]> {
  const ctx = apiContext(options);
  const registry = (await ctx.store()).read();
  if (worktree === null) return registry.allocations;
  const owner = await resolveOwner(ctx, worktree, null);
  return registry.allocations.filter((a) => ownsAllocation(owner, a) || (worktree !== undefined && a.worktree === worktree));
}

export { checkPortAvailable } from './io/port-probe';
