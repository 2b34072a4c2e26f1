import { allocateInRegistry, describePortSet, firstUnallocated, mergeRanges, pickPort, unallocatedPorts, type Owner } from '../../src/core/allocation';
import { emptyRegistry, type Registry } from '../../src/core/registry-schema';
import { ConflictError, RangeExhaustedError, UnknownServiceError, UsageError } from '../../src/errors';

const NOW = '2026-01-01T00:00:00.000Z';
const free = async (_port: number) => true;
const busyOn = (ports: number[]) => async (p: number) => !ports.includes(p);
const feature: Owner = { worktree: 'feature', worktreePath: '/repos/feature' };
const review: Owner = { worktree: 'review-GH-42' };

function registry(): Registry {
  return emptyRegistry(NOW);
}

async function alloc(reg: Registry, owner: Owner, service: string, isFree = free, port?: number) {
  return allocateInRegistry(reg, { owner, service, allocatedBy: 'u@h', now: NOW, port }, isFree);
}

describe('pickPort', () => {
  it.each([
    ['lowest port of an empty range', [], [], 8080],
    ['skips ports in the registry', [8080, 8081], [], 8082],
    ['skips ports busy on the machine', [], [8080, 8082], 8081],
    ['skips both', [8080], [8081], 8082],
  ])('%s', async (_name, allocated, busy, expected) => {
    const reg = registry();
    for (const port of allocated) reg.allocations.push({ port, worktree: 'x', service: 'web', allocated_at: NOW, allocated_by: 'u@h', description: '', process_id: null, health_status: 'unknown' });
    await expect(pickPort(reg, 'web', busyOn(busy))).resolves.toMatchObject({ port: expected, skippedBusy: busy.filter((p) => p < expected) });
  });

  it('throws RangeExhaustedError (exit 3) when every port is allocated or busy', async () => {
    const reg = registry();
    const error = await pickPort(reg, 'database', busyOn([5432, 5433, 5434, 5435, 5436, 5437, 5438, 5439])).catch((e) => e);
    expect(error).toBeInstanceOf(RangeExhaustedError);
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('5432-5439');
  });

  it('throws UnknownServiceError (exit 1) for a service that is not a range', async () => {
    const error = await pickPort(registry(), 'gpu', free).catch((e) => e);
    expect(error).toBeInstanceOf(UnknownServiceError);
    expect(error.exitCode).toBe(1);
    expect(error.hint).toContain('web, database, testing, debug, api, cache');
  });

  it('does not treat inherited object keys as services', async () => {
    await expect(pickPort(registry(), 'constructor', free)).rejects.toBeInstanceOf(UnknownServiceError);
  });
});

describe('allocateInRegistry', () => {
  it('is idempotent per (worktree, service)', async () => {
    const reg = registry();
    const first = await alloc(reg, feature, 'web');
    const again = await alloc(reg, feature, 'web');
    expect(first.created).toBe(true);
    expect(again).toEqual({ allocation: first.allocation, created: false });
    expect(reg.allocations).toHaveLength(1);
  });

  it('gives different worktrees different ports, and tells a path-linked worktree from a name', async () => {
    const reg = registry();
    const a = await alloc(reg, feature, 'web');
    const b = await alloc(reg, review, 'web');
    const c = await alloc(reg, { worktree: 'feature' }, 'web');
    expect(new Set([a.allocation.port, b.allocation.port, c.allocation.port]).size).toBe(3);
    expect(a.allocation.worktree_path).toBe('/repos/feature');
    expect(b.allocation).not.toHaveProperty('worktree_path');
  });

  it('records the seed’s fields', async () => {
    const reg = registry();
    const { allocation } = await allocateInRegistry(reg, { owner: review, service: 'api', description: 'API for PR #42', allocatedBy: 'dev@laptop', now: NOW }, free);
    expect(allocation).toEqual({
      port: 3000,
      worktree: 'review-GH-42',
      service: 'api',
      allocated_at: NOW,
      allocated_by: 'dev@laptop',
      description: 'API for PR #42',
      process_id: null,
      health_status: 'unknown',
    });
  });

  it('gives a specific port when asked, and refuses taken, busy or out-of-range ones', async () => {
    const reg = registry();
    await expect(alloc(reg, feature, 'web', free, 8090)).resolves.toMatchObject({ allocation: { port: 8090 } });
    const taken = await alloc(reg, review, 'web', free, 8090).catch((e) => e);
    expect(taken).toBeInstanceOf(ConflictError);
    expect(taken.message).toContain('already allocated to feature');
    const busy = await alloc(reg, review, 'web', busyOn([8091]), 8091).catch((e) => e);
    expect(busy).toBeInstanceOf(ConflictError);
    expect(busy.message).toContain('in use by another process');
    const outside = await alloc(reg, review, 'web', free, 9999).catch((e) => e);
    expect(outside).toBeInstanceOf(UsageError);
    expect(outside.exitCode).toBe(1);
    const other = await alloc(reg, feature, 'web', free, 8095).catch((e) => e);
    expect(other.message).toContain('already holds port 8090');
  });
});

describe('helpers', () => {
  it.each([
    [[], ''],
    [[1], '1'],
    [[1, 2, 3, 5, 7, 8], '1-3, 5, 7-8'],
  ])('describePortSet(%j) = %s', (ports, text) => expect(describePortSet(ports)).toBe(text));

  it('firstUnallocated gives the lowest port not taken, from a starting point, or undefined', () => {
    const range = { start: 100, end: 104, description: 'r' };
    expect(firstUnallocated(range, new Set())).toBe(100);
    expect(firstUnallocated(range, new Set([100, 101, 103]))).toBe(102);
    expect(firstUnallocated(range, new Set([100, 101, 103]), 103)).toBe(104);
    expect(firstUnallocated(range, new Set([104]), 104)).toBeUndefined();
    expect(firstUnallocated(range, new Set([100, 101, 102, 103, 104]))).toBeUndefined();
    expect(firstUnallocated(range, new Set(), 50)).toBe(100);
    // The same answer as the first of the full list, over many random sets.
    for (let trial = 0; trial < 200; trial++) {
      const taken = new Set(Array.from({ length: 4 }, () => 100 + Math.floor(Math.random() * 5)));
      expect(firstUnallocated(range, taken)).toBe(unallocatedPorts(range, taken)[0]);
    }
  });

  it('merges config ranges: adds new ones, changes existing ones only when asked', () => {
    const reg = registry();
    expect(mergeRanges(reg, { storybook: { start: 6006, end: 6010, description: 'sb' }, web: { start: 8000, end: 8010, description: '' } }, false)).toEqual({ added: ['storybook'], updated: [] });
    expect(reg.ranges.web).toMatchObject({ start: 8080, end: 8099 });
    expect(mergeRanges(reg, { web: { start: 8000, end: 8010, description: '' } }, true)).toEqual({ added: [], updated: ['web'] });
    expect(reg.ranges.web).toMatchObject({ start: 8000, end: 8010 });
  });
});
