/**
 * `ports sync [--dry-run] [--release-unlinked]`: reclaim, with a report, the ports of worktrees
 * that no longer exist (gone from `git worktree list`, or `prunable`); `locked` worktrees keep
 * theirs; moved worktrees keep theirs under the new path; worktrees of other repositories sharing
 * the registry are left alone. Allocations made by name are listed
 * as not linked to a worktree and released only with --release-unlinked.
 */
import type { Context } from '../context';
import { planReconcile, type ReconcilePlan } from '../core/reconcile';
import { removeAllocations } from '../core/allocation';
import type { Allocation } from '../core/registry-schema';
import { applyReconcile } from '../ops/reconcile';
import { snapshotWorktrees } from '../ops/worktrees';

export interface SyncOptions {
  dryRun: boolean;
  releaseUnlinked: boolean;
}

const brief = (a: Allocation) => ({ port: a.port, service: a.service, worktree: a.worktree, worktree_path: a.worktree_path ?? null });

export async function sync(ctx: Context, options: SyncOptions): Promise<number> {
  const store = await ctx.store();
  const snapshot = await snapshotWorktrees(ctx);
  let plan: ReconcilePlan;
  let unlinkedReleased: Allocation[] = [];
  if (options.dryRun) {
    plan = planReconcile(store.read().allocations, snapshot.facts);
  } else {
    ({ plan, unlinkedReleased } = await store.update(async (registry, tx) => {
      const applied = (await applyReconcile(registry, tx, snapshot, ctx)) ?? planReconcile(registry.allocations, snapshot.facts);
      let released: Allocation[] = [];
      if (options.releaseUnlinked && applied.unlinked.length) {
        const unlinked = new Set(applied.unlinked);
        released = removeAllocations(registry, (a) => unlinked.has(a));
        tx.changed();
      }
      return { plan: applied, unlinkedReleased: released };
    }));
  }
  const unlinkedKept = plan.unlinked.filter((a) => !unlinkedReleased.includes(a));
  if (ctx.out.json) {
    ctx.out.data({
      dry_run: options.dryRun,
      released: plan.release.map(brief),
      moved: plan.moved.map((m) => ({ ...brief(m.allocation), worktree_path: m.path, worktree: m.name })),
      kept_locked: plan.lockedKept.map(brief),
      other_repositories: plan.foreign.map(brief),
      unlinked: unlinkedKept.map(brief),
      unlinked_released: unlinkedReleased.map(brief),
    });
    return 0;
  }
  const verb = options.dryRun ? 'would release' : 'released';
  for (const a of plan.release) ctx.out.result(`${verb} ${a.port} (${a.service}) of ${a.worktree}: worktree ${a.worktree_path} is gone`);
  for (const m of plan.moved) ctx.out.result(`${options.dryRun ? 'would keep' : 'kept'} ${m.allocation.port} (${m.allocation.service}): worktree moved to ${m.path}`);
  for (const a of plan.lockedKept) ctx.out.result(`kept ${a.port} (${a.service}) of ${a.worktree}: worktree is locked`);
  if (plan.foreign.length) ctx.out.info(`Left alone ${plan.foreign.length} allocation${plan.foreign.length === 1 ? '' : 's'} of other repositories sharing this registry (each repository reclaims its own).`);
  for (const a of unlinkedReleased) ctx.out.result(`released ${a.port} (${a.service}) of ${a.worktree}: not linked to a worktree`);
  if (unlinkedKept.length) {
    ctx.out.result(`not linked to a worktree (made by name; kept): ${unlinkedKept.map((a) => `${a.port} ${a.service} ${a.worktree}`).join(', ')}`);
    ctx.out.info('Release those with `ports release --worktree NAME`, or all of them with `ports sync --release-unlinked`.');
  }
  if (!plan.release.length && !plan.moved.length && !unlinkedReleased.length) ctx.out.info('Nothing to reclaim: every allocation belongs to a live worktree.');
  else ctx.out.info(`${options.dryRun ? 'Dry run: nothing changed.' : `Registry ${store.file} updated.`}`);
  return 0;
}
