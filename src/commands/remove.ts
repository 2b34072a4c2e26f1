/**
 * `ports remove WORKTREE [--force]`: take the worktree's .env block out (so git does not see a
 * file the tool wrote), `git worktree remove`, and only then release its ports. If git refuses
 * (modified or untracked files, no --force), the block is written back and git's reason is
 * reported: the ports never left the registry, so nothing is lost either way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import { ownsAllocation } from '../core/allocation';
import type { Allocation } from '../core/registry-schema';
import { ConflictError, NotFoundError, PortsError, UsageError } from '../errors';
import { removeWorktree } from '../io/git';
import { syncWorktreeEnv } from '../ops/env-sync';
import { settleRunningContainers } from '../ops/compose-containers';
import { applyReconcile } from '../ops/reconcile';
import { releaseAllocations } from '../ops/release';
import { snapshotWorktrees } from '../ops/worktrees';

export interface RemoveOptions {
  worktree: string;
  force: boolean;
  /** Stop the worktree's running Compose containers instead of refusing. */
  stopContainers?: boolean;
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
  await settleRunningContainers(ctx, target.canonicalPath, { stop: options.stopContainers === true });
  const owner = { worktree: path.basename(target.canonicalPath), worktreePath: target.canonicalPath };
  const owned = (a: Allocation) => ownsAllocation(owner, a);
  const store = await ctx.store();
  const present = fs.existsSync(target.canonicalPath);
  // The ports stay reserved until git has removed the worktree: a `git worktree add` running
  // meanwhile can never take them. Only the .env block goes first, so git sees the worktree as
  // it was before the tool wrote into it (a block in an untracked or tracked .env would make it refuse).
  const held: Allocation[] = store.exists()
    ? await store.update(async (registry, tx) => {
        await applyReconcile(registry, tx, snapshot, ctx);
        const mine = registry.allocations.filter(owned);
        if (mine.length && present) {
          try {
            await syncWorktreeEnv(ctx, { ...registry, allocations: registry.allocations.filter((a) => !owned(a)) }, target.canonicalPath);
          } catch (error) {
            // A malformed block, a FIFO or a shared link in the env file's place must not stop the
            // removal: git decides (and `--force` deletes the file anyway).
            if (!(error instanceof PortsError)) throw error;
            ctx.out.warn(`could not take the ports block out of ${target.path} first: ${error.message}`);
          }
        }
        return mine;
      })
    : [];
  const failure = await removeWorktree(ctx.cwd, ctx.env, target.path, options.force);
  if (failure) {
    let restored = true;
    if (held.length && present) {
      try {
        await store.update((registry) => syncWorktreeEnv(ctx, registry, target.canonicalPath));
      } catch (error) {
        if (!(error instanceof PortsError)) throw error;
        ctx.out.warn(`could not write the ports block of ${target.path} again: ${error.message}`);
        restored = false;
      }
    }
    const kept = restored ? 'Its ports and its .env block are kept.' : 'Its ports are kept in the registry; run `ports env` in it to write its .env block again.';
    throw new ConflictError(`git could not remove ${target.path}: ${failure}`, `${kept} Commit or discard its changes, or run \`ports remove WORKTREE --force\` to delete it anyway.`);
  }
  // A reconcile elsewhere may have released them already, once git had removed the folder: they are gone either way.
  if (held.length) await store.update((registry, tx) => releaseAllocations(ctx, registry, tx, owned));
  const released = held;
  if (ctx.out.json) ctx.out.data(released);
  else {
    for (const a of released) ctx.out.result(`released ${a.port} (${a.service})`);
    ctx.out.info(`Removed worktree ${target.path}${released.length ? ` and released ${released.length} port${released.length === 1 ? '' : 's'}` : ''}.`);
  }
  return 0;
}
