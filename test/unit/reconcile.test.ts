import { planReconcile, type ReconcileFacts, type WorktreeState } from '../../src/core/reconcile';
import type { Allocation } from '../../src/core/registry-schema';

const base = { service: 'web', allocated_at: '2026-01-01T00:00:00Z', allocated_by: 'u@h', description: '', process_id: null, health_status: 'unknown' as const };
const a = (port: number, worktree: string, extra: Partial<Allocation> = {}): Allocation => ({ ...base, port, worktree, ...extra });

function facts(live: WorktreeState[], opts: { ids?: Record<string, string>; foreign?: string[] } = {}): ReconcileFacts {
  return {
    live,
    pathOfId: (id) => opts.ids?.[id] ?? null,
    judgePath: (p) => (opts.foreign?.includes(p) ? 'foreign' : 'gone'),
    canonical: (p) => p,
  };
}

describe('planReconcile', () => {
  const main: WorktreeState = { path: '/r/main', locked: false, prunable: false };

  it('keeps allocations of live worktrees', () => {
    const plan = planReconcile([a(1, 'main', { worktree_path: '/r/main' })], facts([main]));
    expect(plan.release).toEqual([]);
  });

  it('reclaims worktrees gone from `git worktree list` (git worktree remove)', () => {
    const gone = a(2, 'feat', { worktree_path: '/r/feat' });
    expect(planReconcile([gone], facts([main])).release).toEqual([gone]);
  });

  it('reclaims prunable worktrees (folder deleted with rm -rf)', () => {
    const x = a(3, 'x', { worktree_path: '/r/x' });
    expect(planReconcile([x], facts([main, { path: '/r/x', locked: false, prunable: true }])).release).toEqual([x]);
  });

  it('keeps locked worktrees even when their folder is missing', () => {
    const x = a(4, 'x', { worktree_path: '/r/x' });
    const plan = planReconcile([x], facts([main, { path: '/r/x', locked: true, prunable: false }]));
    expect(plan.release).toEqual([]);
    expect(plan.lockedKept).toEqual([x]);
  });

  it('follows `git worktree move` through git’s admin id and renames a folder-named worktree', () => {
    const x = a(5, 'old', { worktree_path: '/r/old', worktree_id: 'old' });
    const plan = planReconcile([x], facts([main, { path: '/r/new', locked: false, prunable: false }], { ids: { old: '/r/new' } }));
    expect(plan.release).toEqual([]);
    expect(plan.moved).toEqual([{ allocation: x, path: '/r/new', name: 'new' }]);
  });

  it('never reclaims allocations made by name', () => {
    const byName = a(6, 'review-GH-42');
    const plan = planReconcile([byName], facts([main]));
    expect(plan.release).toEqual([]);
    expect(plan.unlinked).toEqual([byName]);
  });

  it('leaves worktrees of another repository sharing the registry alone', () => {
    const other = a(7, 'theirs', { worktree_path: '/other/theirs' });
    expect(planReconcile([other], facts([main], { foreign: ['/other/theirs'] })).release).toEqual([]);
  });
});
