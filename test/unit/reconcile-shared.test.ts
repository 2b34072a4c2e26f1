/**
 * A registry shared by several repositories (PORTS_REGISTRY): each repository reclaims and
 * follows moves of its own worktrees only.
 */
import { planReconcile, type ReconcileFacts, type WorktreeState } from '../../src/core/reconcile';
import type { Allocation } from '../../src/core/registry-schema';

const base = { service: 'web', allocated_at: '2026-01-01T00:00:00Z', allocated_by: 'u@h', description: '', process_id: null, health_status: 'unknown' as const };
const a = (port: number, worktree: string, extra: Partial<Allocation> = {}): Allocation => ({ ...base, port, worktree, ...extra });

/** Repository A at /a: its live worktrees, its admin ids, and the folders that are worktrees of B. */
function factsOfA(live: WorktreeState[], ids: Record<string, string>, foreignFolders: string[] = []): ReconcileFacts {
  return {
    live,
    pathOfId: (id) => ids[id] ?? null,
    judgePath: (p) => (foreignFolders.includes(p) ? 'foreign' : 'gone'),
    canonical: (p) => p,
    isOwnRepo: (repo) => repo === '/a/main',
  };
}

describe('planReconcile in a registry shared with another repository', () => {
  const aMain: WorktreeState = { path: '/a/main', locked: false, prunable: false };
  const aFeature: WorktreeState = { path: '/a/feature', locked: false, prunable: false };

  it('never releases a moved or locked worktree of B whose folder A cannot see', () => {
    const bMoved = a(8081, 'moving', { worktree_path: '/b/moving', worktree_id: 'moving', repo: '/b/main' });
    const bLockedAway = a(8082, 'usb', { worktree_path: '/media/usb/wt', worktree_id: 'usb', repo: '/b/main' });
    const plan = planReconcile([bMoved, bLockedAway], factsOfA([aMain], {}));
    expect(plan.release).toEqual([]);
    expect(plan.foreign).toEqual([bMoved, bLockedAway]);
  });

  it('never moves B’s ports onto A’s worktree of the same admin id, tagged or not', () => {
    const tagged = a(8083, 'feature', { worktree_path: '/b/feature-old', worktree_id: 'feature', repo: '/b/main' });
    const untaggedLive = a(8084, 'feature', { worktree_path: '/b/feature', worktree_id: 'feature' });
    const plan = planReconcile([tagged, untaggedLive], factsOfA([aMain, aFeature], { feature: '/a/feature' }, ['/b/feature']));
    expect(plan.moved).toEqual([]);
    expect(plan.release).toEqual([]);
    expect(plan.foreign).toEqual([tagged, untaggedLive]);
  });

  it('still reclaims and follows its own worktrees', () => {
    const ownGone = a(8085, 'gone', { worktree_path: '/a/gone', repo: '/a/main' });
    const ownMoved = a(8086, 'old', { worktree_path: '/a/old', worktree_id: 'feature', repo: '/a/main' });
    const plan = planReconcile([ownGone, ownMoved], factsOfA([aMain, aFeature], { feature: '/a/feature' }));
    expect(plan.release).toEqual([ownGone]);
    expect(plan.moved).toEqual([{ allocation: ownMoved, path: '/a/feature', name: 'feature' }]);
    expect(plan.foreign).toEqual([]);
  });
});
