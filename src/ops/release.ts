/**
 * Releasing, wherever it happens (`ports release`, `ports remove`, the library's releasePort):
 * the allocations go, and each affected worktree's .env block follows in the same update.
 */
import * as fs from 'node:fs';
import type { Context } from '../context';
import { removeAllocations } from '../core/allocation';
import type { Allocation, Registry } from '../core/registry-schema';
import type { Transaction } from '../io/registry-store';
import { syncWorktreeEnv } from './env-sync';
import { clearHookStamp } from './hook-stamp';
import { PortsError } from '../errors';

export async function releaseAllocations(ctx: Context, registry: Registry, tx: Transaction, predicate: (a: Allocation) => boolean): Promise<Allocation[]> {
  const removed = removeAllocations(registry, predicate);
  if (removed.length === 0) return removed;
  tx.changed();
  const roots = new Set(removed.map((a) => a.worktree_path).filter((p): p is string => !!p && fs.existsSync(p)));
  for (const root of roots) {
    clearHookStamp(root);
    try {
      await syncWorktreeEnv(ctx, registry, root);
    } catch (error) {
      // The ports go whatever the env file is (a malformed block, a FIFO, a shared link): the
      // registry is the truth, and `ports remove --force` must not be stopped by a file it deletes.
      if (!(error instanceof PortsError)) throw error;
      ctx.out.warn(`the ports are released, but ${error.message}${error.hint ? ` ${error.hint}` : ''}`);
    }
  }
  return removed;
}
