/**
 * `ports remove WORKTREE [--force]`: release the worktree's ports (its .env block goes with
 * them, so git does not see an untracked file the tool created), then `git worktree remove`.
 * If git refuses (modified files, no --force), the same ports are given back to the worktree
 * and git's reason is reported: nothing is lost either way.
 */
import * as path from 'node:path';
import type { Context } from '../context';
import { ownsAllocation } from '../core/allocation';
import type { Allocation } from '../core/registry-schema';
import { ConflictError, NotFoundError, UsageError } from '../errors';
import { removeWorktree } from '../io/git';
import { syncWorktreeEnv } from '../ops/env-sync';
import { applyReconcile } from '../ops/reconcile';
import { releaseAllocations } from '../ops/release';
import { snapshotWorktrees } from '../ops/worktrees';

export interface RemoveOptions {
  worktree: string;
  force: boolean;
}

export async function remove(ctx: Context, options: RemoveOptions): Promise<number> {
  const snapshot = await snapshotWorktrees(ctx);
  const wanted = path.resolve(ctx.cwd, options.worktree);
  const candidates = snapshot.worktrees.filter(
    (w) => !w.bare && (w.canonicalPath === wanted || w.path === wanted || w.canonicalPath === snapshot.facts.canonical(wanted) || path.basename(w.canonicalPath) === options.worktree),
  );
  if (candidates.length === 0) throw new NotFoundError(`No worktree "${options.worktree}".`, 'List them with `git worktree list`.');
  if (candidates.length > 1) throw new UsageError(`"${options.worktree}" names ${candidates.length} worktrees.`, `Give its path: ${candidates.map((c) => c.path).join(', ')}.`);
  const target = candidates[0]!;
  const repo = await ctx.repo();
  if (repo.mainRoot && snapshot.facts.canonical(repo.mainRoot) === target.canonicalPath) {
    throw new UsageError('The main worktree cannot be removed.', 'Remove linked worktrees only; release the main worktree’s ports with `ports release`.');
  }
  if (target.locked) {
    // git refuses even with one --force; say why before touching the registry.
    throw new ConflictError(`Worktree ${target.path} is locked; its ports are kept.`, `Unlock it first (\`git worktree unlock ${target.path}\`), then run \`ports remove\` again.`);
  }
  const owner = { worktree: path.basename(target.canonicalPath), worktreePath: target.canonicalPath };
  const store = await ctx.store();
  const released: Allocation[] = store.exists()
    ? await store.update(async (registry, tx) => {
        await applyReconcile(registry, tx, snapshot, ctx);
        return releaseAllocations(ctx, registry, tx, (a) => ownsAllocation(owner, a));
      })
    : [];
  const failure = await removeWorktree(ctx.cwd, ctx.env, target.path, options.force);
  if (failure) {
    if (released.length) {
      await store.update(async (registry, tx) => {
        const taken = new Set(registry.allocations.map((a) => a.port));
        const back = released.filter((a) => !taken.has(a.port));
        registry.allocations.push(...back);
        tx.changed();
        await syncWorktreeEnv(ctx, registry, target.canonicalPath);
      });
    }
    throw new ConflictError(`git could not remove ${target.path}: ${failure}`, 'Its ports are kept. Commit or discard its changes, or run `ports remove WORKTREE --force` to delete it anyway.');
  }
  if (ctx.out.json) ctx.out.data(released);
  else {
    for (const a of released) ctx.out.result(`released ${a.port} (${a.service})`);
    ctx.out.info(`Removed worktree ${target.path}${released.length ? ` and released ${released.length} port${released.length === 1 ? '' : 's'}` : ''}.`);
  }
  return 0;
}
