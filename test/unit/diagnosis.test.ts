/**
 * The pure parts of `ports doctor`: which facts make which finding, which findings decide the
 * exit code, and how a registry is rebuilt from .env blocks.
 */
import type { Conflict } from '../../src/core/conflicts';
import { diagnose, doctorExitCode, type DiagnosisFacts, type FindingKind } from '../../src/core/diagnosis';
import { emptyRegistry, type Allocation, type Registry } from '../../src/core/registry-schema';
import { normalizeConfig } from '../../src/config/schema';
import { allocationsFromEnv, salvageByName, serviceOfVariable } from '../../src/ops/rebuild';

const NOW = new Date('2026-11-24T22:00:00.000Z');

function alloc(port: number, extra: Partial<Allocation> = {}): Allocation {
  return {
    port,
    worktree: 'feature',
    service: 'web',
    allocated_at: '2026-11-20T10:00:00.000Z',
    allocated_by: 'dev@host',
    description: '',
    process_id: null,
    health_status: 'unknown',
    worktree_path: '/repo/feature',
    ...extra,
  };
}

function registryOf(allocations: Allocation[]): Registry {
  const r = emptyRegistry(NOW.toISOString());
  r.allocations = allocations;
  r.metadata.total_allocations = allocations.length;
  return r;
}

function facts(overrides: Partial<DiagnosisFacts> = {}): DiagnosisFacts {
  return {
    registryFile: '/repo/main/design/worktrees/ports.json',
    registry: { kind: 'ok', registry: registryOf([alloc(8080)]) },
    lock: { state: 'free' },
    staleTempFiles: [],
    envBlocksWithPorts: 0,
    unallocated: [],
    hook: { file: '/repo/main/.git/hooks/post-checkout', installed: true, executable: true, toolMissing: false },
    servicesDeclared: 1,
    trackedAs: null,
    conflicts: [],
    listeners: [],
    docker: false,
    now: NOW,
    ...overrides,
  };
}

const conflictOf = (kind: Conflict['kind'], ports: number[] = [8080]): Conflict => ({
  kind,
  message: `${kind} on ${ports.join(', ')}`,
  ports,
  worktrees: ['feature'],
  allocations: [],
  process: null,
  container: null,
  resolution: 'ports something',
});

const counting = (f: DiagnosisFacts) =>
  diagnose(f)
    .filter((x) => x.counts)
    .map((x) => x.kind);

describe('diagnose', () => {
  test('a sound registry whose services are not started is healthy (exit 0), with a note', () => {
    const findings = diagnose(facts({ conflicts: [conflictOf('allocation_mismatch')] }));
    expect(findings.map((f) => f.kind)).toEqual(['not_started']);
    expect(doctorExitCode(findings)).toBe(0);
  });

  const cases: [string, Partial<DiagnosisFacts>, FindingKind, { counts: boolean; fixable: boolean }][] = [
    ['corrupt registry', { registry: { kind: 'corrupt', message: 'allocations[0].port: …' } }, 'registry_corrupt', { counts: true, fixable: true }],
    ['directory in place of the registry', { registry: { kind: 'unreadable', message: 'a directory is in its place' } }, 'registry_unreadable', { counts: true, fixable: false }],
    ['no registry yet', { registry: { kind: 'missing' } }, 'registry_missing', { counts: false, fixable: false }],
    ['registry lost while .env blocks hold ports', { registry: { kind: 'missing' }, envBlocksWithPorts: 2 }, 'registry_lost', { counts: true, fixable: true }],
    ['stale lock', { lock: { state: 'stale', reason: 'process 4242 is not running' } }, 'stale_lock', { counts: true, fixable: true }],
    ['lock held for minutes', { lock: { state: 'held', holder: { pid: 7, host: 'h', acquired_at: '2026-11-24T21:50:00.000Z' } } }, 'lock_held', { counts: true, fixable: false }],
    ['temp files of dead processes', { staleTempFiles: ['ports.json.4242.abc.tmp'] }, 'temp_files', { counts: true, fixable: true }],
    ['hook missing with services declared', { hook: { file: 'h', installed: false, executable: false, toolMissing: false } }, 'hooks_missing', { counts: true, fixable: true }],
    ['hook missing, nothing declared', { servicesDeclared: 0, hook: { file: 'h', installed: false, executable: false, toolMissing: false } }, 'hooks_missing', { counts: false, fixable: true }],
    ['hook that finds no tool: npm install, not --fix', { hook: { file: 'h', installed: true, executable: true, toolMissing: true } }, 'hooks_broken', { counts: true, fixable: false }],
    ['hook that is not executable', { hook: { file: 'h', installed: true, executable: false, toolMissing: false } }, 'hooks_broken', { counts: true, fixable: true }],
    ['env file tracked by git', { envTrackedAs: '.env' }, 'env_file_tracked', { counts: false, fixable: false }],
    ['registry tracked by git', { trackedAs: 'design/worktrees/ports.json' }, 'registry_tracked', { counts: true, fixable: false }],
    ['port allocated twice', { conflicts: [conflictOf('registry_conflict')] }, 'registry_conflict', { counts: true, fixable: true }],
    ['port held by a foreign process', { conflicts: [conflictOf('system_conflict')] }, 'port_in_use', { counts: true, fixable: false }],
    ['.env drift', { conflicts: [conflictOf('env_out_of_step')] }, 'env_out_of_step', { counts: true, fixable: true }],
    ['vanished worktree', { conflicts: [conflictOf('vanished_worktree')] }, 'vanished_worktree', { counts: true, fixable: true }],
    ['overlapping ranges', { conflicts: [conflictOf('overlapping_ranges', [])] }, 'overlapping_ranges', { counts: true, fixable: false }],
  ];
  test.each(cases)('%s', (_name, overrides, kind, expected) => {
    const findings = diagnose(facts(overrides));
    const found = findings.find((f) => f.kind === kind);
    expect(found).toMatchObject(expected);
    expect(found!.action).not.toBe('');
    expect(doctorExitCode(findings)).toBe(expected.counts ? 4 : 0);
  });

  test('a worktree without ports for declared services is a note that --fix settles', () => {
    const found = diagnose(facts({ unallocated: [{ worktree: 'wip', path: '/repo/wip', services: ['web', 'api'] }] })).find((f) => f.kind === 'services_unallocated')!;
    expect(found).toMatchObject({ counts: false, fixable: true });
    expect(found.action).toContain('ports allocate --cwd /repo/wip');
  });

  test('a lock held a moment ago by a live process is normal, not a finding', () => {
    expect(counting(facts({ lock: { state: 'held', holder: { pid: 7, host: 'h', acquired_at: '2026-11-24T21:59:59.000Z' } } }))).toEqual([]);
  });

  test('an exhausted range counts and names the not_running ports to release; a nearly full one is a note', () => {
    const registry = registryOf([]);
    registry.ranges = { web: { start: 8080, end: 8081, description: '' }, api: { start: 3000, end: 3009, description: '' } };
    registry.allocations = [alloc(8080, { health_status: 'not_running' }), alloc(8081), ...[3000, 3001, 3002, 3003, 3004, 3005, 3006, 3007, 3008].map((p) => alloc(p, { service: 'api' }))];
    const findings = diagnose(facts({ registry: { kind: 'ok', registry } }));
    const exhausted = findings.find((f) => f.kind === 'range_exhausted')!;
    expect(exhausted.counts).toBe(true);
    expect(exhausted.detail).toContain('not running: 8080');
    expect(findings.find((f) => f.kind === 'range_nearly_full')).toMatchObject({ counts: false });
  });

  test('a foreign listener inside a range counts the port as busy, as a note', () => {
    const findings = diagnose(facts({ listeners: [{ port: 8085, address: '0.0.0.0', pid: 99, command: 'nginx', cwd: '/' }] }));
    expect(findings.find((f) => f.kind === 'busy_unallocated')).toMatchObject({ counts: false, ports: [8085] });
  });

  test('a service on ::1 only is flagged (IPv4 clients fail); one on 127.0.0.1 only only when Docker is around', () => {
    const on = (address: string, docker: boolean) =>
      diagnose(facts({ docker, listeners: [{ port: 8080, address, pid: 1, command: 'node', cwd: '/repo/feature' }] })).some((f) => f.kind === 'loopback_only');
    expect(on('::1', false)).toBe(true);
    expect(on('127.0.0.1', false)).toBe(false);
    expect(on('127.0.0.1', true)).toBe(true);
    expect(on('0.0.0.0', true)).toBe(false);
  });

  test('health not_running while something listens is a note pointing at host, timeout and auth', () => {
    const registry = registryOf([alloc(8080, { health_status: 'not_running' })]);
    const found = diagnose(facts({ registry: { kind: 'ok', registry }, listeners: [{ port: 8080, address: '::1', pid: 1, command: 'node', cwd: '/repo/feature' }] })).find(
      (f) => f.kind === 'health_stale',
    )!;
    expect(found.counts).toBe(false);
    expect(found.action).toMatch(/health\.host.*timeoutMs/);
  });
});

describe('rebuild from .env blocks', () => {
  const config = normalizeConfig({ services: { web: true, api: { env: 'API_PORT' } } }, null);
  const registry = emptyRegistry(NOW.toISOString());

  test('maps variables to services through the config, then PORT_<SERVICE> of a known range', () => {
    expect(serviceOfVariable('API_PORT', config, Object.keys(registry.ranges))).toBe('api');
    expect(serviceOfVariable('PORT_CACHE', config, Object.keys(registry.ranges))).toBe('cache');
    expect(serviceOfVariable('PORT_NOPE', config, Object.keys(registry.ranges))).toBeNull();
  });

  test('the first worktree keeps a port claimed twice; bad values are reported, not guessed', () => {
    const { allocations, skipped, rangesChanged } = allocationsFromEnv(
      [
        { path: '/r/main', vars: new Map([['PORT_WEB', '8080'], ['API_PORT', '3000'], ['COMPOSE_PROJECT_NAME', 'r-main']]) },
        { path: '/r/copy', vars: new Map([['PORT_WEB', '8080'], ['API_PORT', '99999'], ['PORT_NOPE', '1']]) },
      ],
      config,
      registry,
      NOW.toISOString(),
      'dev@host',
    );
    // PORT_NOPE is in a block the tool wrote: a service whose range was lost gets its range back.
    expect(allocations.map((a) => `${a.worktree} ${a.service} ${a.port}`)).toEqual(['main web 8080', 'main api 3000', 'copy nope 1']);
    expect(allocations[0]!.worktree_path).toBe('/r/main');
    expect(skipped).toHaveLength(2);
    expect(skipped.join('\n')).toMatch(/also claimed by main/);
    expect(skipped.join('\n')).toMatch(/API_PORT=99999 is not a port/);
    expect(rangesChanged).toEqual(['added the range nope 1-1 for the recovered port 1']);
  });

  test('every port a block holds is kept when the ranges that held it were lost: ranges grow, move or are added', () => {
    const fresh = emptyRegistry(NOW.toISOString());
    const { allocations, rangesChanged } = allocationsFromEnv(
      [
        // web was customised to 18000-18019 in the lost file; api only grew by a few ports.
        { path: '/r/main', vars: new Map([['PORT_WEB', '18000'], ['API_PORT', '3105']]) },
        { path: '/r/feature', vars: new Map([['PORT_WEB', '18001'], ['API_PORT', '3000'], ['PORT_QUEUE', '7100']]) },
      ],
      config,
      fresh,
      NOW.toISOString(),
      'dev@host',
    );
    expect(allocations.map((a) => a.port).sort((a, b) => a - b)).toEqual([3000, 3105, 7100, 18000, 18001]);
    // Grown over 18000 from 8080, web would cover the other ranges: it moves, keeping its size.
    expect(fresh.ranges.web).toMatchObject({ start: 18000, end: 18019 });
    expect(fresh.ranges.api).toMatchObject({ start: 3000, end: 3105 });
    expect(fresh.ranges.queue).toMatchObject({ start: 7100, end: 7100 });
    expect(rangesChanged).toHaveLength(3);
    expect(rangesChanged.join('\n')).toMatch(/web range is now 18000-18019 \(was 8080-8099\)/);
    for (const a of allocations) expect(a.port).toBeGreaterThanOrEqual(fresh.ranges[a.service]!.start);
    for (const a of allocations) expect(a.port).toBeLessThanOrEqual(fresh.ranges[a.service]!.end);
  });

  test('allocations made by name are salvaged from a file that is still JSON, when valid and free', () => {
    const bad = registryOf([alloc(8080, { worktree_path: '/r/main' }), alloc(8081, { worktree: 'review-1', worktree_path: undefined }), alloc(8080, { worktree: 'review-2', worktree_path: undefined })]);
    delete (bad.allocations[1] as Partial<Allocation>).worktree_path;
    delete (bad.allocations[2] as Partial<Allocation>).worktree_path;
    const text = JSON.stringify({ ...bad, metadata: { ...bad.metadata, schema_version: 'x' } });
    const target = registryOf([alloc(8080, { worktree_path: '/r/main' })]);
    const { kept, skipped } = salvageByName(text, target);
    expect(kept.map((a) => a.worktree)).toEqual(['review-1']);
    expect(skipped.join('\n')).toMatch(/review-2.*taken/);
    expect(salvageByName('{"allocations": [', target).skipped[0]).toMatch(/not JSON/);
  });
});
