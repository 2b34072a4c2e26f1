/**
 * `ports release [PORT…] [--worktree NAME] [--service S]`: give ports back. With ports, exactly
 * those (all or none: an unknown port is exit 2 and nothing is released); otherwise all of a
 * worktree's (default: the current one), optionally only some services. Each affected
 * worktree's .env block follows.
 */
import type { Context } from '../context';
import { ownsAllocation, type Owner } from '../core/allocation';
import type { Allocation } from '../core/registry-schema';
import { NotFoundError, UsageError } from '../errors';
import { renderTable } from '../output';
import { describeOwner, resolveOwner } from '../ops/owner';
import { releaseAllocations } from '../ops/release';
import { applyReconcile, snapshotForReconcile } from '../ops/reconcile';
import { settleRunningContainers } from '../ops/compose-containers';

export interface ReleaseOptions {
  ports: number[];
  worktree?: string;
  services: string[];
  /** Stop the affected worktrees' running Compose containers instead of refusing. */
  stopContainers?: boolean;
}

export async function release(ctx: Context, options: ReleaseOptions): Promise<number> {
  if (options.ports.length && (options.worktree || options.services.length)) {
    throw new UsageError('Give either ports, or --worktree/--service, not both.', 'Examples: `ports release 8081 5433`, `ports release --worktree review-GH-42 --service web`.');
  }
  const store = await ctx.store();
  const snapshot = options.worktree !== undefined ? await snapshotForReconcile(ctx) : 'when-needed';
  const owner: Owner | null = options.ports.length ? null : await resolveOwner(ctx, options.worktree, snapshot === 'when-needed' ? null : snapshot);
  const paths = owner ? [owner.worktreePath] : (store.readIfExists()?.allocations ?? []).filter((a) => options.ports.includes(a.port)).map((a) => a.worktree_path);
  for (const root of new Set(paths)) if (root) await settleRunningContainers(ctx, root, { stop: options.stopContainers === true });
  const released = await store.update(async (registry, tx) => {
    await applyReconcile(registry, tx, snapshot, ctx);
    let removed: Allocation[];
    if (owner) {
      const selected = (a: Allocation) => ownsAllocation(owner, a) && (options.services.length === 0 || options.services.includes(a.service));
      if (!registry.allocations.some(selected)) {
        throw new NotFoundError(
          `${describeOwner(owner)} holds no ports${options.services.length ? ` for ${options.services.join(', ')}` : ''}.`,
          'See what is allocated with `ports status --all`.',
        );
      }
      removed = await releaseAllocations(ctx, registry, tx, selected);
    } else {
      const wanted = new Set(options.ports);
      const missing = options.ports.filter((p) => !registry.allocations.some((a) => a.port === p));
      if (missing.length) {
        throw new NotFoundError(`Port${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not in the registry; nothing was released.`, 'See what is allocated with `ports status --all`.');
      }
      removed = await releaseAllocations(ctx, registry, tx, (a) => wanted.has(a.port));
    }
    return removed;
  });
  if (ctx.out.json) ctx.out.data(released);
  else if (ctx.out.quiet) released.forEach((a) => ctx.out.result(String(a.port)));
  else {
    for (const line of renderTable(['PORT', 'SERVICE', 'WORKTREE'], released.map((a) => [String(a.port), a.service, a.worktree]))) ctx.out.result(line);
    ctx.out.info(`Released ${released.length} port${released.length === 1 ? '' : 's'}.`);
  }
  return 0;
}
