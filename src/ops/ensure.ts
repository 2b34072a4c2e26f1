/**
 * Allocate a set of services for one owner in one locked update: reconcile first, add config
 * ranges the registry lacks, allocate (idempotently), then bring the worktree's .env in line.
 * Used by `ports allocate`, the post-checkout hook, `ports exec` and `ports env`.
 */
import * as fs from 'node:fs';
import type { Context } from '../context';
import { allocateInRegistry, mergeRanges, ownsAllocation, type AllocationOutcome, type Owner } from '../core/allocation';
import type { Allocation } from '../core/registry-schema';
import { checkPortAvailable } from '../io/port-probe';
import { currentUser } from '../io/registry-store';
import { syncWorktreeEnv } from './env-sync';
import { keepEnvFileOutOfGit, keepOutOfGit } from './ignore';
import { applyReconcile, snapshotForReconcile } from './reconcile';
import type { WorktreeSnapshot } from './worktrees';

export interface EnsureRequest {
  owner: Owner;
  services: { name: string; description?: string }[];
  port?: number;
  /** Reuse a snapshot taken by the caller (it is taken outside the lock). */
  snapshot?: WorktreeSnapshot | null;
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
  const snapshot = request.snapshot !== undefined ? request.snapshot : await snapshotForReconcile(ctx);
  const allocatedBy = currentUser();
  let created = false;
  const result = await store.update(
    async (registry, tx) => {
      created = tx.created;
      await applyReconcile(registry, tx, snapshot, ctx);
      if (mergeRanges(registry, config.ranges, false).added.length) tx.changed();
      const outcomes: AllocationOutcome[] = [];
      for (const service of request.services) {
        const outcome = await allocateInRegistry(
          registry,
          { owner: request.owner, service: service.name, description: service.description, port: request.port, allocatedBy, now: ctx.now().toISOString() },
          checkPortAvailable,
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
