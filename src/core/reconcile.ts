/**
 * Which allocations belong to worktrees that are gone. Git fires no hook on `git worktree
 * remove`, `prune`, `move` or `rm -rf`, so every writing command compares the registry with
 * `git worktree list` and takes back what is vanished. Pure: the caller supplies what git and
 * the file system say.
 */
import type { Allocation } from './registry-schema';

export interface WorktreeState {
  path: string;
  locked: boolean;
  prunable: boolean;
}

export type PathVerdict =
  /** The path is not a worktree of this repository any more: reclaim. */
  | 'gone'
  /** The folder is a worktree of another repository sharing this registry: not ours to judge. */
  | 'foreign';

export interface ReconcileFacts {
  /** Live worktrees, paths canonical. */
  live: readonly WorktreeState[];
  /** Where git's admin id now points (after `git worktree move`), or null. */
  pathOfId(id: string): string | null;
  /** For a path git does not list: is it gone, or another repository's worktree? */
  judgePath(path: string): PathVerdict;
  /** Canonical form of a recorded path (symlinks resolved where the folder still exists). */
  canonical(path: string): string;
  /**
   * Whether an allocation's recorded `repo` is this repository. In a registry several
   * repositories share, another one's allocations are never released or moved by this one.
   */
  isOwnRepo?(repo: string): boolean;
}

export interface ReconcilePlan {
  /** Allocations of vanished or prunable worktrees: release them. */
  release: Allocation[];
  /** Allocations of moved worktrees: keep the ports, record the new path and name. */
  moved: { allocation: Allocation; path: string; name: string }[];
  /** Allocations made by name (no worktree_path): never reclaimed implicitly. */
  unlinked: Allocation[];
  /** Allocations kept because their worktree is locked (even if its folder is missing). */
  lockedKept: Allocation[];
  /** Allocations of another repository sharing the registry: not this repository's to judge. */
  foreign: Allocation[];
}

export function planReconcile(allocations: readonly Allocation[], facts: ReconcileFacts): ReconcilePlan {
  const byPath = new Map(facts.live.map((w) => [w.path, w]));
  const plan: ReconcilePlan = { release: [], moved: [], unlinked: [], lockedKept: [], foreign: [] };
  for (const allocation of allocations) {
    const recorded = allocation.worktree_path;
    if (!recorded) {
      plan.unlinked.push(allocation);
      continue;
    }
    if (typeof allocation.repo === 'string' && facts.isOwnRepo && !facts.isOwnRepo(allocation.repo)) {
      plan.foreign.push(allocation);
      continue;
    }
    const live = byPath.get(recorded) ?? byPath.get(facts.canonical(recorded));
    if (live) {
      if (live.locked) plan.lockedKept.push(allocation);
      else if (live.prunable) plan.release.push(allocation);
      continue;
    }
    // Before following an admin id: another repository's worktree may carry the same id as one of ours.
    if (facts.judgePath(recorded) === 'foreign') {
      plan.foreign.push(allocation);
      continue;
    }
    const movedTo = allocation.worktree_id ? facts.pathOfId(allocation.worktree_id) : null;
    const movedLive = movedTo ? (byPath.get(movedTo) ?? byPath.get(facts.canonical(movedTo))) : undefined;
    if (movedLive && !movedLive.prunable) {
      const oldName = lastSegment(recorded);
      const name = allocation.worktree === oldName ? lastSegment(movedLive.path) : allocation.worktree;
      plan.moved.push({ allocation, path: movedLive.path, name });
      continue;
    }
    plan.release.push(allocation);
  }
  return plan;
}

function lastSegment(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}
