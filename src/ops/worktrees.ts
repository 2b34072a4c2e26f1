/**
 * The live worktrees of the repository and the facts reconcile needs about them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import type { ReconcileFacts, WorktreeState } from '../core/reconcile';
import { listWorktrees, listWorktreesFromFiles, registryBase, worktreePathById, type WorktreeEntry } from '../io/git';

export function canonicalPath(p: string): string {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return path.resolve(p);
  }
}

/** `.git` file or folder of `dir` → the common dir it belongs to, or null when not a git worktree. */
function commonDirOf(dir: string): string | null {
  const dotGit = path.join(dir, '.git');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dotGit);
  } catch {
    return null;
  }
  if (stat.isDirectory()) return canonicalPath(dotGit);
  try {
    const gitdir = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(dotGit, 'utf8'))?.[1]?.trim();
    if (!gitdir) return null;
    const adminDir = path.resolve(dir, gitdir);
    const common = fs.readFileSync(path.join(adminDir, 'commondir'), 'utf8').trim();
    return canonicalPath(path.resolve(adminDir, common));
  } catch {
    return null;
  }
}

export interface WorktreeSnapshot {
  worktrees: (WorktreeEntry & { canonicalPath: string })[];
  facts: ReconcileFacts;
}

/** The live worktrees (from the files where they say it all, else `git worktree list`) and the facts reconcile needs. */
export async function snapshotWorktrees(ctx: Context): Promise<WorktreeSnapshot> {
  const repo = await ctx.repo();
  const listed = listWorktreesFromFiles(repo) ?? listWorktrees(ctx.cwd, ctx.env);
  const worktrees = listed.map((w) => ({ ...w, canonicalPath: canonicalPath(w.path) }));
  const live: WorktreeState[] = worktrees.filter((w) => !w.bare).map((w) => ({ path: w.canonicalPath, locked: w.locked, prunable: w.prunable }));
  const ourCommon = canonicalPath(repo.commonDir);
  // What an allocation's `repo` may say for this repository: its main root, else its common dir.
  const ourRepo = new Set([repo.mainRoot, repo.commonDir, registryBase(repo.commonDir)].filter((p): p is string => !!p).flatMap((p) => [path.resolve(p), canonicalPath(p)]));
  const facts: ReconcileFacts = {
    live,
    canonical: canonicalPath,
    pathOfId: (id) => {
      const p = worktreePathById(repo.commonDir, id);
      return p ? canonicalPath(p) : null;
    },
    judgePath: (p) => {
      const common = commonDirOf(p);
      return common !== null && common !== ourCommon ? 'foreign' : 'gone';
    },
    isOwnRepo: (r) => ourRepo.has(path.resolve(r)) || ourRepo.has(canonicalPath(r)),
  };
  return { worktrees, facts };
}
