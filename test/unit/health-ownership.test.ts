import { foreignHolder, judgeHealth, type OwnershipFacts } from '../../src/core/health-status';

const MAIN = '/work/shop';
const FEAT = '/work/shop-feat';
const NESTED = '/work/shop/.worktrees/fix';
const base: OwnershipFacts = { worktreePath: FEAT, knownWorktrees: [MAIN, FEAT, NESTED], composeProject: 'shop-feat', listeners: [], containers: [] };
const listener = (cwd: string | null, pid: number | null = 42) => ({ pid, command: 'node', cwd });
const container = (composeProject: string | null) => ({ containerName: `${composeProject ?? 'solo'}-web-1`, composeProject });

describe('foreignHolder', () => {
  it.each<[string, Partial<OwnershipFacts>, string | null]>([
    ['a process working in the worktree', { listeners: [listener(`${FEAT}/apps/web`)] }, null],
    ['a process working in another worktree', { listeners: [listener(`${MAIN}/src`)] }, `PID 42 (node) of the worktree at ${MAIN}`],
    ['a process in a worktree nested in the main one', { worktreePath: MAIN, listeners: [listener(`${NESTED}/src`)] }, `PID 42 (node) of the worktree at ${NESTED}`],
    ['the main worktree\'s own process next to a nested worktree', { worktreePath: MAIN, listeners: [listener(`${MAIN}/src`)] }, null],
    ['a process outside every worktree (not judged)', { listeners: [listener('/tmp')] }, null],
    ['a hidden PID or folder (not judged)', { listeners: [listener(`${MAIN}`, null), listener(null)] }, null],
    ['a container of the worktree\'s project (Docker\'s proxy is the listener)', { containers: [container('shop-feat')], listeners: [listener('/')] }, null],
    ['a container of another project', { containers: [container('shop')] }, 'container shop-web-1 of the Compose project shop'],
    ['a container of no project', { containers: [container(null)] }, 'container solo-web-1'],
    ['an allocation made by name (no folder)', { worktreePath: null, listeners: [listener(MAIN)] }, null],
  ])('%s', (_name, over, expected) => expect(foreignHolder({ ...base, ...over })).toBe(expected));
});

describe('judgeHealth with a foreign holder', () => {
  it('is never healthy and stores no PID, even when the probe is answered', () => {
    const verdict = judgeHealth({
      port: 8080,
      bindFree: false,
      listeners: [{ address: '127.0.0.1', family: 4, pid: 42, command: 'node' }],
      probe: { ok: true, answered: true, detail: 'HTTP 200', host: '127.0.0.1', latencyMs: 2 },
      probedHosts: ['127.0.0.1'],
      foreignHolder: 'container shop-web-1 of the Compose project shop',
    });
    expect(verdict).toEqual({ status: 'unhealthy', pid: null, command: null, level: 2, detail: 'held by container shop-web-1 of the Compose project shop, not by this worktree' });
  });
});
