/**
 * The main worktree is a worktree like the others: it holds its declared ports from
 * `ports install` on, so a linked worktree never receives the ports the main checkout's own
 * stack runs on (Compose files publish the range's first ports by default).
 */
import * as path from 'node:path';
import type { Context } from '../context';
import type { AllocationOutcome, Owner } from '../core/allocation';
import { ensureAllocations } from './ensure';
import { canonicalPath } from './worktrees';

export interface MainWorktreeResult {
  owner: Owner;
  /** Allocations this call made (none when the main worktree held them all already). */
  made: AllocationOutcome[];
  envFile: string | null;
}

/** Allocates the main worktree's declared services (idempotent) and writes its env file; null for a bare repository or no services. */
export async function ensureMainWorktree(ctx: Context): Promise<MainWorktreeResult | null> {
  const repo = await ctx.repo();
  const config = await ctx.config();
  if (!repo.mainRoot || config.services.length === 0) return null;
  const root = canonicalPath(repo.mainRoot);
  const owner: Owner = { worktree: path.basename(root), worktreePath: root };
  const result = await ensureAllocations(ctx, { owner, services: config.services.map((s) => ({ name: s.name, description: s.description })) });
  return { owner, made: result.outcomes.filter((o) => o.created), envFile: result.envFile };
}
