/**
 * Whose ports: the current worktree (its folder name, its path), or a name given with
 * --worktree. A name that is the folder name of exactly one live worktree means that worktree;
 * any other name is an allocation by name, with no worktree_path, never reclaimed implicitly.
 */
import * as path from 'node:path';
import type { Context } from '../context';
import type { Owner } from '../core/allocation';
import { UsageError } from '../errors';
import type { WorktreeSnapshot } from './worktrees';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function validateWorktreeName(name: string): string {
  if (name.trim() === '' || CONTROL.test(name) || name.length > 255) {
    throw new UsageError(`Invalid worktree name ${JSON.stringify(name)}.`, 'Use a non-empty name without control characters, at most 255 characters.');
  }
  return name;
}

export async function resolveOwner(ctx: Context, worktreeFlag: string | undefined, snapshot: WorktreeSnapshot | null): Promise<Owner> {
  if (worktreeFlag !== undefined) {
    const name = validateWorktreeName(worktreeFlag);
    const matches = snapshot?.worktrees.filter((w) => !w.bare && !w.prunable && path.basename(w.canonicalPath) === name) ?? [];
    if (matches.length === 1) {
      const repo = await ctx.repo();
      const match = matches[0]!;
      const id = repo.isLinkedWorktree && match.canonicalPath === repo.worktreeRoot ? repo.worktreeId : null;
      return { worktree: name, worktreePath: match.canonicalPath, ...(id ? { worktreeId: id } : {}) };
    }
    return { worktree: name };
  }
  const repo = await ctx.repo();
  if (!repo.worktreeRoot) {
    throw new UsageError('Not inside a worktree (this is a bare repository or a .git folder).', 'Run ports inside a worktree, or name one with --worktree NAME.');
  }
  return {
    worktree: path.basename(repo.worktreeRoot),
    worktreePath: repo.worktreeRoot,
    ...(repo.worktreeId ? { worktreeId: repo.worktreeId } : {}),
  };
}

export function describeOwner(owner: Owner): string {
  return owner.worktreePath ? `${owner.worktree} (${owner.worktreePath})` : `${owner.worktree} (by name)`;
}
