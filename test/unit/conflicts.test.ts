import { findConflicts, shellQuote, type ConflictFacts, type ConflictKind, type EnvFact, type ListenerFact, type PublishedPortFact } from '../../src/core/conflicts';
import { judgeHealth, type HealthFacts } from '../../src/core/health-status';
import { emptyRegistry, type Allocation, type Registry } from '../../src/core/registry-schema';

const A = '/work/repo';
const B = '/work/repo-feat-b';

function alloc(port: number, worktree: string, service: string, extra: Partial<Allocation> = {}): Allocation {
  return {
    port,
    worktree,
    service,
    allocated_at: '2026-11-20T10:00:00.000Z',
    allocated_by: 'dev@host',
    description: '',
    process_id: null,
    health_status: 'unknown',
    worktree_path: worktree === 'repo' ? A : worktree === 'repo-feat-b' ? B : undefined,
    ...extra,
  };
}

function registryOf(allocations: Allocation[], ranges?: Registry['ranges']): Registry {
  const registry = emptyRegistry('2026-11-24T00:00:00.000Z');
  if (ranges) registry.ranges = ranges;
  registry.allocations = allocations;
  registry.metadata.total_allocations = allocations.length;
  return registry;
}

/** A listener of each allocation from inside its own worktree: nothing to report. */
function ownListeners(allocations: Allocation[]): ListenerFact[] {
  return allocations.map((a) => ({ port: a.port, address: '127.0.0.1', pid: 1000 + a.port, command: 'node server.js', cwd: a.worktree_path ?? '/elsewhere' }));
}

function facts(registry: Registry, over: Partial<ConflictFacts> = {}): ConflictFacts {
  return {
    registry,
    liveWorktrees: [A, B],
    vanished: [],
    listeners: ownListeners(registry.allocations),
    published: null,
    env: [],
    composeProjects: new Map(),
    ...over,
  };
}

const kinds = (f: ConflictFacts): ConflictKind[] => findConflicts(f).map((c) => c.kind);

describe('findConflicts', () => {
  test('a consistent registry whose services all run in their worktrees has no conflict', () => {
    const registry = registryOf([alloc(8080, 'repo', 'web'), alloc(8081, 'repo-feat-b', 'web'), alloc(5432, 'review-GH-42', 'database')]);
    expect(findConflicts(facts(registry))).toEqual([]);
  });

  test('registry conflict: the same port twice names both worktrees and dates, and moves the newer one', () => {
    const older = alloc(8080, 'repo', 'web', { allocated_at: '2026-11-01T09:00:00.000Z' });
    const newer = alloc(8080, 'repo-feat-b', 'web', { allocated_at: '2026-11-22T09:00:00.000Z' });
    const [c, ...rest] = findConflicts(facts(registryOf([newer, older]), { listeners: ownListeners([older]) }));
    expect(rest.map((x) => x.kind)).not.toContain('registry_conflict');
    expect(c).toMatchObject({ kind: 'registry_conflict', ports: [8080], worktrees: ['repo-feat-b', 'repo'] });
    expect(c!.message).toContain('2026-11-01');
    expect(c!.message).toContain('2026-11-22');
    expect(c!.message).toContain('repo had it first');
    expect(c!.resolution).toBe(`Keep it for repo; move repo-feat-b to another port: ports release --service web --cwd ${B} && ports allocate web --cwd ${B}`);
  });

  test('system conflict: a process running outside the worktree holds its port (PID, command, cwd)', () => {
    const a = alloc(8081, 'repo-feat-b', 'web');
    const foreign: ListenerFact = { port: 8081, address: '0.0.0.0', pid: 4242, command: 'python3 -m http.server 8081', cwd: '/home/dev/scratch' };
    const [c] = findConflicts(facts(registryOf([a]), { listeners: [foreign] }));
    expect(c).toMatchObject({ kind: 'system_conflict', ports: [8081], worktrees: ['repo-feat-b'], process: { pid: 4242, command: 'python3 -m http.server 8081', cwd: '/home/dev/scratch', address: '0.0.0.0' } });
    expect(c!.message).toContain('PID 4242');
    expect(c!.message).toContain('/home/dev/scratch');
    expect(c!.resolution).toMatch(/^kill 4242 — or give repo-feat-b another port: ports release 8081 --cwd /);
  });

  test('system conflict: a process of another worktree is named as such, even when worktrees nest', () => {
    const nested = `${A}/.worktrees/feat-c`;
    const a = alloc(8080, 'repo', 'web');
    const fromNested: ListenerFact = { port: 8080, address: '127.0.0.1', pid: 7, command: 'vite', cwd: `${nested}/app` };
    const [c] = findConflicts(facts(registryOf([a]), { liveWorktrees: [A, B, nested], listeners: [fromNested] }));
    expect(c?.kind).toBe('system_conflict');
    expect(c!.message).toContain(`belongs to the worktree at ${nested}`);
  });

  test('system conflict: a listener whose PID is hidden still makes the port busy', () => {
    const a = alloc(5432, 'repo', 'database');
    const hidden: ListenerFact = { port: 5432, address: '127.0.0.1', pid: null, command: null, cwd: null };
    const [c] = findConflicts(facts(registryOf([a]), { listeners: [hidden] }));
    expect(c).toMatchObject({ kind: 'system_conflict', process: { pid: null } });
    expect(c!.message).toContain('PID hidden');
    expect(kinds(facts(registryOf([a]), { listeners: [hidden] }))).not.toContain('allocation_mismatch');
  });

  test('a process in a subfolder of its own worktree is the worktree\'s', () => {
    const a = alloc(8081, 'repo-feat-b', 'web');
    expect(kinds(facts(registryOf([a]), { listeners: [{ port: 8081, address: '::', pid: 9, command: 'node', cwd: `${B}/packages/web` }] }))).toEqual([]);
  });

  test('allocations made by name are not judged by working directory', () => {
    const a = alloc(9000, 'review-GH-42', 'testing');
    expect(kinds(facts(registryOf([a]), { listeners: [{ port: 9000, address: '::', pid: 9, command: 'jest', cwd: '/tmp' }] }))).toEqual([]);
  });

  test('containers: the worktree\'s own Compose project is fine, another project is a system conflict', () => {
    const a = alloc(5433, 'repo-feat-b', 'database');
    const container = (project: string): PublishedPortFact => ({ hostPort: 5433, containerName: `${project}-db-1`, containerId: 'abcdef0123456789', image: 'postgres:16', composeProject: project, composeService: 'db' });
    const proxy: ListenerFact = { port: 5433, address: '0.0.0.0', pid: 55, command: '/usr/bin/docker-proxy', cwd: '/' };
    const projects = new Map([[B, 'repo-feat-b']]);
    expect(kinds(facts(registryOf([a]), { listeners: [proxy], published: [container('repo-feat-b')], composeProjects: projects }))).toEqual([]);
    const [c] = findConflicts(facts(registryOf([a]), { listeners: [proxy], published: [container('other')], composeProjects: projects }));
    expect(c).toMatchObject({ kind: 'system_conflict', container: { name: 'other-db-1', id: 'abcdef012345', compose_project: 'other' } });
    expect(c!.resolution).toMatch(/^docker stop other-db-1/);
  });

  test('allocation mismatch: allocated, nothing listening', () => {
    const a = alloc(8081, 'repo-feat-b', 'web');
    const [c] = findConflicts(facts(registryOf([a]), { listeners: [] }));
    expect(c).toMatchObject({ kind: 'allocation_mismatch', ports: [8081], worktrees: ['repo-feat-b'] });
    expect(c!.message).toBe('Port 8081 is allocated (web of repo-feat-b (since 2026-11-20)) but nothing listens on it.');
  });

  test('port outside its range and unknown service', () => {
    const registry = registryOf([alloc(9999, 'repo', 'web'), alloc(7000, 'repo', 'queue')]);
    const found = findConflicts(facts(registry));
    expect(found.map((c) => [c.kind, c.ports])).toEqual([
      ['outside_range', [9999]],
      ['unknown_service', [7000]],
    ]);
    expect(found[0]!.message).toContain('web range 8080-8099');
    expect(found[1]!.resolution).toContain('"queue" range');
  });

  test('overlapping ranges are reported once per pair with the shared ports', () => {
    const ranges = {
      web: { start: 8080, end: 8099, description: '' },
      admin: { start: 8090, end: 8110, description: '' },
      api: { start: 3000, end: 3099, description: '' },
      tools: { start: 8095, end: 8096, description: '' },
    };
    const found = findConflicts(facts(registryOf([], ranges))).filter((c) => c.kind === 'overlapping_ranges');
    expect(found.map((c) => c.message.match(/overlap on (\S+):/)?.[1])).toEqual(['8090-8099', '8095-8096', '8095-8096']);
  });

  test('metadata out of step: wrong total, last_updated older than an allocation', () => {
    const registry = registryOf([alloc(8080, 'repo', 'web', { allocated_at: '2026-11-24T12:00:00.000Z' })]);
    registry.metadata.total_allocations = 3;
    const [c] = findConflicts(facts(registry));
    expect(c?.kind).toBe('metadata_out_of_step');
    expect(c!.message).toContain('total_allocations is 3 but there are 1');
    expect(c!.message).toContain('older than the newest allocation');
    expect(c!.resolution).toBe('ports doctor --fix');
  });

  test('vanished worktree: reported for `ports sync`, not as a mismatch or a system conflict', () => {
    const gone = alloc(8082, 'feat-gone', 'web', { worktree_path: '/work/repo-feat-gone' });
    const found = findConflicts(facts(registryOf([gone]), { vanished: [gone], listeners: [] }));
    expect(found.map((c) => c.kind)).toEqual(['vanished_worktree']);
    expect(found[0]!.resolution).toBe('ports sync');
    expect(found[0]!.message).toContain('/work/repo-feat-gone');
  });

  const envCases: Array<[string, Partial<EnvFact>, string | null]> = [
    ['in step', { actual: new Map([['PORT_WEB', '8081']]) }, null],
    ['no block', { actual: null }, 'has no ports block (PORT_WEB=8081 expected)'],
    ['wrong value', { actual: new Map([['PORT_WEB', '8085']]) }, 'PORT_WEB=8085 but the registry says 8081'],
    ['a released port left behind', { actual: new Map([['PORT_WEB', '8081'], ['PORT_API', '3001']]) }, 'PORT_API=3001 is not allocated any more'],
    ['a malformed block', { actual: null, error: 'the managed ports block is not terminated' }, 'not terminated'],
  ];
  test.each(envCases)('.env %s', (_name, over, expected) => {
    const a = alloc(8081, 'repo-feat-b', 'web');
    const env: EnvFact = { worktree: 'repo-feat-b', worktreePath: B, file: `${B}/.env`, expected: [['PORT_WEB', '8081']], actual: null, error: null, ...over };
    const found = findConflicts(facts(registryOf([a]), { env: [env] }));
    if (expected === null) return expect(found).toEqual([]);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ kind: 'env_out_of_step', worktrees: ['repo-feat-b'], resolution: expect.stringContaining(`ports env --cwd ${B}`) });
    expect(found[0]!.message).toContain(expected);
  });

  test('conflicts come in the order to deal with them', () => {
    const registry = registryOf([alloc(8080, 'repo', 'web'), alloc(8080, 'repo-feat-b', 'web'), alloc(3001, 'repo', 'api'), alloc(7000, 'repo', 'queue')]);
    registry.metadata.total_allocations = 0;
    expect(kinds(facts(registry, { listeners: [] }))).toEqual([
      'registry_conflict',
      'unknown_service',
      'metadata_out_of_step',
      'allocation_mismatch',
      'allocation_mismatch',
      'allocation_mismatch',
      'allocation_mismatch',
    ]);
  });

  test.each([
    ['plain-name_1.2', 'plain-name_1.2'],
    ['/path with space', `'/path with space'`],
    ["it's", `'it'\\''s'`],
  ])('shellQuote(%j) = %s', (input, output) => expect(shellQuote(input)).toBe(output));
});

describe('judgeHealth (health levels to a status)', () => {
  const base: HealthFacts = { port: 8080, bindFree: false, listeners: [], probe: null, probedHosts: ['127.0.0.1', '::1'] };
  const listener = (address: string, pid: number | null = 42) => ({ address, family: (address.includes(':') ? 6 : 4) as 4 | 6, pid, command: pid ? 'node' : null });
  const probe = (ok: boolean, answered: boolean, host: string | null, detail = 'x') => ({ ok, answered, host, detail, latencyMs: 3 });

  test.each<[string, Partial<HealthFacts>, string, number | null]>([
    ['nothing listens', { bindFree: true, probe: probe(false, false, null) }, 'not_running', null],
    ['answers as expected', { listeners: [listener('127.0.0.1')], probe: probe(true, true, '127.0.0.1') }, 'healthy', 42],
    ['answers badly (HTTP 500)', { listeners: [listener('127.0.0.1')], probe: probe(false, true, '127.0.0.1') }, 'unhealthy', 42],
    ['accepts and stays silent', { listeners: [listener('::1', 7)], probe: probe(false, false, '::1') }, 'unhealthy', 7],
    ['listens, no response check configured', { listeners: [listener('0.0.0.0')], probe: null }, 'healthy', 42],
    ['busy by bind test, owner hidden', { listeners: [listener('127.0.0.1', null)], probe: probe(true, true, '127.0.0.1') }, 'healthy', null],
    ['bind test free but the probe connects', { bindFree: true, probe: probe(true, true, '127.0.0.1') }, 'healthy', null],
  ])('%s → %s', (_name, over, status, pid) => {
    const verdict = judgeHealth({ ...base, ...over });
    expect(verdict.status).toBe(status);
    expect(verdict.pid).toBe(pid);
  });

  test('takes the PID of the listener the probe reached (IPv6 one of two)', () => {
    const verdict = judgeHealth({ ...base, listeners: [listener('127.0.0.1', 1), listener('::1', 2)], probe: probe(true, true, '::1') });
    expect(verdict.pid).toBe(2);
  });

  test('a service bound to another interface only is unhealthy with a hint', () => {
    const verdict = judgeHealth({ ...base, listeners: [listener('192.168.1.20')], probe: probe(false, false, null, 'refused') });
    expect(verdict.status).toBe('unhealthy');
    expect(verdict.detail).toContain('listening on 192.168.1.20 only');
    expect(verdict.detail).toContain('health.host');
  });
});
