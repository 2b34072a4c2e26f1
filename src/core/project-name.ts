/**
 * COMPOSE_PROJECT_NAME per worktree, so two worktrees' stacks never share containers, networks
 * or volumes. Compose accepts `^[a-z0-9][a-z0-9_-]*$`.
 *
 * Rule:
 * - each part is lowercased; every run of other characters becomes one `-`; leading and
 *   trailing `-`/`_` are trimmed; a part that is left empty (`日本`) becomes `x` plus a hash of it;
 * - the main worktree gets the repository's name (what Compose itself would derive from the
 *   checkout's folder in the common case), a linked worktree `<repo>-<worktree>` (always both
 *   parts, even for a folder named `myrepo-x`: dropping a repeated prefix would make `x` and
 *   `myrepo-x` collide); a linked worktree whose name equals the repository's is
 *   `<repo>-<hash>` (of its path when given, else of its name), never the main worktree's name;
 * - with `worktreePath`, `-` and the first 6 hex digits of the SHA-256 of that path are
 *   appended: callers pass it when two worktrees would otherwise get the same name (same folder
 *   name in two places, or names that differ only in case or punctuation: `Feature.X`, `feature-x`);
 * - at most 63 characters: a longer name is cut and ends with a hash of the full name.
 */
import { sha256Hex } from './sha256';

const MAX_LENGTH = 63;
export const COMPOSE_PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

function shortHash(text: string, length = 6): string {
  return sha256Hex(text).slice(0, length);
}

function normalizePart(raw: string): string {
  const part = raw
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
  return part.length > 0 ? part : `x${shortHash(raw)}`;
}

export function composeProjectName(repoName: string, worktreeName: string, isMainWorktree: boolean, worktreePath?: string): string {
  const repo = normalizePart(repoName);
  let name: string;
  if (isMainWorktree) {
    name = repo;
  } else {
    const worktree = normalizePart(worktreeName);
    if (worktree === repo) return limitLength(`${repo}-${shortHash(worktreePath ?? worktreeName)}`);
    name = `${repo}-${worktree}`;
  }
  if (worktreePath !== undefined) name = `${name}-${shortHash(worktreePath)}`;
  return limitLength(name);
}

function limitLength(name: string): string {
  if (name.length > MAX_LENGTH) {
    const hash = shortHash(name, 8);
    return `${name.slice(0, MAX_LENGTH - hash.length - 1).replace(/[-_]+$/, '')}-${hash}`;
  }
  return name;
}
