/**
 * Allocate a set of services for one owner in one locked update: reconcile first, add config
 * ranges the registry lacks, allocate (idempotently), then bring the worktree's .env in line.
 * Used by `ports allocate`, the post-checkout hook, `ports exec` and `ports env`.
 */
import * as fs from 'node:fs';
import type { Context } from '../context';
import { allocateInRegistry, mergeRanges, ownsAllocation, rangeOf, takenPorts, unallocatedPorts, type AllocationOutcome, type Owner } from '../core/allocation';
import type { Registry } from '../core/registry-schema';
import type { Allocation } from '../core/registry-schema';
import { checkPortAvailable } from '../io/port-probe';
import { currentUser } from '../io/registry-store';
import { syncWorktreeEnv } from './env-sync';
import { keepEnvFileOutOfGit, keepOutOfGit } from './ignore';
import { applyReconcile, type SnapshotSource } from './reconcile';

export interface EnsureRequest {
  owner: Owner;
  services: { name: string; description?: string }[];
  port?: number;
  /** A snapshot the caller took (outside the lock); default: taken only when needed. */
  snapshot?: SnapshotSource;
}

export interface EnsureResult {
  outcomes: AllocationOutcome[];
  /** Every allocation the owner holds after the update. */
  held: Allocation[];
  envFile: string | null;
}

export async function ensureAllocations(ctx: Context, request: EnsureRequest): Promise<EnsureResult> {
  const store = await ctx.store();
  const config = await ctx.config();
  const snapshot = request.snapshot ?? 'when-needed';
  const allocatedBy = currentUser();
  let created = false;
  const result = await store.update(
    async (registry, tx) => {
      created = tx.created;
      await applyReconcile(registry, tx, snapshot, ctx);
      if (mergeRanges(registry, config.ranges, false).added.length) tx.changed();
      const isFree = await probeFirstCandidates(registry, request);
      const outcomes: AllocationOutcome[] = [];
      for (const service of request.services) {
        const outcome = await allocateInRegistry(
          registry,
          { owner: request.owner, service: service.name, description: service.description, port: request.port, allocatedBy, now: ctx.now().toISOString() },
          isFree,
        );
        if (outcome.created) tx.changed();
        outcomes.push(outcome);
      }
      let envFile: string | null = null;
      const root = request.owner.worktreePath;
      if (root && fs.existsSync(root)) envFile = (await syncWorktreeEnv(ctx, registry, root)).file;
      return { outcomes, held: registry.allocations.filter((a) => ownsAllocation(request.owner, a)), envFile };
    },
    { create: true },
  );
  if (created) {
    await keepOutOfGit(ctx, store.file);
    await keepEnvFileOutOfGit(ctx, config.envFile);
  }
  return result;
}

/**
 * The port each missing service will most likely get is probed for all services at once (a
 * bind test takes a few event-loop turns; four in a row were a visible part of a hook run).
 * Returns the probe to allocate with: answers from that round, else a fresh bind test.
 */
async function probeFirstCandidates(registry: Registry, request: EnsureRequest): Promise<(port: number) => Promise<boolean>> {
  const known = new Map<number, boolean>();
  if (request.port === undefined) {
    const taken = takenPorts(registry);
    const firsts = new Set<number>();
    for (const service of request.services) {
      if (registry.allocations.some((a) => a.service === service.name && ownsAllocation(request.owner, a))) continue;
      if (!Object.prototype.hasOwnProperty.call(registry.ranges, service.name)) continue; // allocate reports it
      const first = unallocatedPorts(rangeOf(registry, service.name), taken)[0];
      if (first !== undefined) firsts.add(first);
    }
    await Promise.all([...firsts].map(async (port) => known.set(port, await checkPortAvailable(port))));
  }
  return async (port) => known.get(port) ?? checkPortAvailable(port);
}
