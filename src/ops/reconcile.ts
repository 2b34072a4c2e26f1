/**
 * Applies the reconcile plan to a registry being updated: the cheap step every hook run and
 * every writing command takes first, so ports of removed worktrees come back unasked.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import { planReconcile, type ReconcilePlan } from '../core/reconcile';
import { removeAllocations } from '../core/allocation';
import type { Registry } from '../core/registry-schema';
import { worktreeFolderNames } from '../io/git';
import type { Transaction } from '../io/registry-store';
import { syncWorktreeEnv } from './env-sync';
import { snapshotWorktrees, type WorktreeSnapshot } from './worktrees';

/** Takes the worktree snapshot outside the lock; null when there is no repository to compare with. */
export async function snapshotForReconcile(ctx: Context): Promise<WorktreeSnapshot | null> {
  try {
    return await snapshotWorktrees(ctx);
  } catch (error) {
    ctx.out.debug(`reconcile skipped: ${(error as Error).message}`);
    return null;
  }
}

/**
 * A snapshot taken before the lock, none (no repository), or `when-needed`: taken under the
 * lock, and only when worktreesMayHaveVanished says so — the usual run spawns no git at all.
 */
export type SnapshotSource = WorktreeSnapshot | null | 'when-needed';

/**
 * What an allocation for `--worktree NAME` starts from. A name needs the worktree list up front
 * only to link it to a worktree of that folder name, so the list is taken only when the
 * repository's files show such a folder (scripts naming `review-GH-42` spawn no git).
 */
export async function snapshotForName(ctx: Context, name: string | undefined): Promise<SnapshotSource> {
  if (name === undefined) return 'when-needed';
  let names: Set<string> | null = null;
  try {
    names = worktreeFolderNames(await ctx.repo());
  } catch {
    // no repository: snapshotForReconcile says so in --verbose
  }
  return names && !names.has(name) ? 'when-needed' : snapshotForReconcile(ctx);
}

/**
 * False when every worktree the registry links to still has its `.git`: then nothing can be
 * reclaimed or moved (git worktree remove, prune, move and rm -rf all take the old folder
 * away), and `git worktree list` need not run. A locked worktree whose folder is missing
 * answers true, and git then says to keep it.
 */
export function worktreesMayHaveVanished(registry: Registry): boolean {
  const seen = new Set<string>();
  for (const a of registry.allocations) {
    if (!a.worktree_path || seen.has(a.worktree_path)) continue;
    seen.add(a.worktree_path);
    if (!fs.existsSync(path.join(a.worktree_path, '.git'))) return true;
  }
  return false;
}

function applyPlan(registry: Registry, tx: Transaction, snapshot: WorktreeSnapshot | null, ctx: Context): ReconcilePlan | null {
  if (!snapshot || !registry.allocations.some((a) => a.worktree_path)) return null;
  const plan = planReconcile(registry.allocations, snapshot.facts);
  if (plan.release.length) {
    const gone = new Set(plan.release);
    removeAllocations(registry, (a) => gone.has(a));
    tx.changed();
    for (const a of plan.release) ctx.out.debug(`reclaimed ${a.port} (${a.service}) of vanished worktree ${a.worktree} (${a.worktree_path})`);
  }
  for (const move of plan.moved) {
    move.allocation.worktree_path = move.path;
    move.allocation.worktree = move.name;
    tx.changed();
    ctx.out.debug(`worktree ${move.name} moved to ${move.path}; it keeps port ${move.allocation.port}`);
  }
  return plan;
}

/**
 * Releases the allocations of vanished worktrees and records moves; then the .env of each moved
 * worktree is rewritten: its Compose project name follows the folder name. Whichever command sees the move first must do it, or the .env stays
 * stale (a later `ports sync` finds no move left to report). A .env that cannot be written
 * (the user set a managed name by hand) is a warning here, not a failure of the caller.
 */
export async function applyReconcile(registry: Registry, tx: Transaction, source: SnapshotSource, ctx: Context): Promise<ReconcilePlan | null> {
  let snapshot: WorktreeSnapshot | null;
  if (source === 'when-needed') snapshot = worktreesMayHaveVanished(registry) ? await snapshotForReconcile(ctx) : null;
  else snapshot = source;
  const plan = applyPlan(registry, tx, snapshot, ctx);
  for (const root of new Set(plan?.moved.map((m) => m.path) ?? [])) {
    if (!fs.existsSync(root)) continue;
    try {
      await syncWorktreeEnv(ctx, registry, root);
    } catch (error) {
      ctx.out.warn(`worktree moved to ${root}, but its env file was not updated: ${(error as Error).message}`);
    }
  }
  return plan;
}
