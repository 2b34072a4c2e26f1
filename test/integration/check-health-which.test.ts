/**
 * `ports check`, `ports health` and `ports which` run in-process (src/main.ts `run`, through
 * test/helpers/cli.ts) against real temp repositories with linked worktrees, real listeners
 * (this process, child processes, redis-server, PostgreSQL) on OS-assigned ports, and
 * registries written by the test.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emptyRegistry, type Allocation, type Registry } from '../../src/core/registry-schema';
import { createContext } from '../../src/context';
import { TEST_IMAGE, TEST_LABEL, describeWithDocker, docker, httpGet, removeContainers, waitFor } from '../helpers/docker';
import { syncWorktreeEnv } from '../../src/ops/env-sync';
import { createOutput } from '../../src/output';
import { cleanEnv as testCleanEnv, runInProcess, type InProcessRun } from '../helpers/cli';
import { git as repoGit, initRepo } from '../helpers/repo';
import {
  startChildListener,
  startHttpServer,
  startPostgres,
  startRedis,
  startSilentTcpServer,
  freePort,
  canListenOn,
  postgresAvailability,
  redisAvailability,
  testWhen,
  type Stoppable,
} from '../helpers/servers';

const cleanEnv: NodeJS.ProcessEnv = testCleanEnv();

const redisOrPostgres = [redisAvailability(), postgresAvailability()];
const withRedisOrPostgres = testWhen(
  redisOrPostgres.some((a) => a.ok) ? { ok: true } : { ok: false, reason: 'neither redis-server nor PostgreSQL is installed (run .ci/install-services.sh)' },
);

function git(cwd: string, ...args: string[]): string {
  return repoGit(args, cwd);
}

interface Repo {
  root: string;
  main: string;
  feat: string;
  registryFile: string;
}

/** A repository with a linked worktree `feat`, both folders canonical (realpath). */
function makeRepo(config: object = {}): Repo {
  const { root, main } = initRepo({ files: { '.portsrc.json': JSON.stringify(config) }, prefix: 'ports-chw-' });
  const feat = path.join(root, 'feat');
  git(main, 'worktree', 'add', '-q', feat);
  return { root, main, feat, registryFile: path.join(main, 'design', 'worktrees', 'ports.json') };
}

function allocation(port: number, worktree: string, worktreePath: string | undefined, service: string, allocatedAt = '2026-11-20T10:00:00.000Z'): Allocation {
  return {
    port,
    worktree,
    service,
    allocated_at: allocatedAt,
    allocated_by: 'test@host',
    description: `${service} for ${worktree}`,
    process_id: null,
    health_status: 'unknown',
    ...(worktreePath ? { worktree_path: worktreePath } : {}),
  };
}

/** A registry whose ranges are private to the test: one range per service around the ports given. */
function writeRegistry(repo: Repo, allocations: Allocation[], mutate?: (r: Registry) => void): void {
  const registry = emptyRegistry('2026-11-24T00:00:00.000Z');
  registry.ranges = {};
  for (const a of allocations) {
    const r = registry.ranges[a.service];
    registry.ranges[a.service] = { start: Math.min(r?.start ?? a.port, a.port), end: Math.max(r?.end ?? a.port, a.port), description: `test ${a.service}` };
  }
  registry.allocations = allocations;
  registry.metadata.total_allocations = allocations.length;
  mutate?.(registry);
  fs.mkdirSync(path.dirname(repo.registryFile), { recursive: true });
  fs.writeFileSync(repo.registryFile, JSON.stringify(registry, null, 2));
}

function readRegistry(repo: Repo): Registry {
  return JSON.parse(fs.readFileSync(repo.registryFile, 'utf8')) as Registry;
}

function ports(cwd: string, args: string[], options: { tty?: boolean } = {}): Promise<InProcessRun> {
  return runInProcess(args, { cwd, env: cleanEnv, tty: options.tty });
}

/** Writes the worktree's .env exactly as the tool does (the real env-sync), so it starts in step. */
async function syncEnv(repo: Repo, worktreeRoot: string): Promise<void> {
  const sink = { write: () => true, isTTY: false };
  const out = createOutput({ stdout: sink, stderr: sink }, { json: false, quiet: true, verbose: false, color: false });
  const globals = { json: false, quiet: true, verbose: false, color: false, cwd: worktreeRoot, config: undefined, registry: undefined };
  await syncWorktreeEnv(createContext(globals, { env: cleanEnv, out }), readRegistry(repo), worktreeRoot);
}

function setEnvValue(dir: string, name: string, value: string | number): void {
  const file = path.join(dir, '.env');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(new RegExp(`^${name}=.*$`, 'm'), `${name}=${value}`));
}

const started: Stoppable[] = [];
const repos: Repo[] = [];
async function track<T extends Stoppable>(server: Promise<T>): Promise<T> {
  const value = await server;
  started.push(value);
  return value;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
  for (const repo of repos.splice(0)) fs.rmSync(repo.root, { recursive: true, force: true });
});
function newRepo(config: object = {}): Repo {
  const repo = makeRepo(config);
  repos.push(repo);
  return repo;
}

interface ConflictJson {
  kind: string;
  ports: number[];
  worktrees: string[];
  message: string;
  resolution: string;
  allocations: { allocated_at: string; worktree: string }[];
  process: { pid: number | null; command: string | null; cwd: string | null } | null;
}

describe('ports check', () => {
  test('is clean (exit 0) when each worktree runs its own services and its .env is in step', async () => {
    const repo = newRepo();
    const mainWeb = await track(startChildListener({ cwd: repo.main }));
    const featWeb = await track(startChildListener({ cwd: path.join(repo.feat) }));
    writeRegistry(repo, [allocation(mainWeb.port, 'main', repo.main, 'web'), allocation(featWeb.port, 'feat', repo.feat, 'web')]);
    await syncEnv(repo, repo.main);
    await syncEnv(repo, repo.feat);
    const result = await ports(repo.main, ['check', '--json']);
    expect(result.json<{ conflicts: ConflictJson[] }>().conflicts).toEqual([]);
    expect(result.code).toBe(0);
    const text = await ports(repo.feat, ['check']);
    expect(text).toMatchObject({ code: 0, stdout: '' });
    expect(text.stderr).toMatch(/^No conflicts \(2 allocations, 2 worktrees/);
  });

  test('duplicated registry entries and a foreign listener: both reported with dates, PID, cwd and fixes; exit 4', async () => {
    const repo = newRepo();
    const shared = await track(startChildListener({ cwd: repo.main }));
    const foreign = await track(startChildListener({ cwd: os.tmpdir() }));
    writeRegistry(repo, [
      allocation(shared.port, 'main', repo.main, 'web', '2026-11-01T08:00:00.000Z'),
      allocation(shared.port, 'feat', repo.feat, 'web', '2026-11-22T08:00:00.000Z'),
      allocation(foreign.port, 'feat', repo.feat, 'api'),
    ]);
    await syncEnv(repo, repo.main);
    await syncEnv(repo, repo.feat);

    const result = await ports(repo.feat, ['check', '--json']);
    expect(result.code).toBe(4);
    const conflicts = result.json<{ conflicts: ConflictJson[] }>().conflicts;
    const registryConflict = conflicts.find((c) => c.kind === 'registry_conflict');
    expect(registryConflict).toMatchObject({ ports: [shared.port], worktrees: ['main', 'feat'] });
    expect(registryConflict!.allocations.map((a) => a.allocated_at)).toEqual(['2026-11-01T08:00:00.000Z', '2026-11-22T08:00:00.000Z']);
    expect(registryConflict!.resolution).toBe(`Keep it for main; move feat to another port: ports release --service web --cwd ${repo.feat} && ports allocate web --cwd ${repo.feat}`);
    // The shared port's listener runs in main: for feat's duplicate entry it is somebody else's.
    const system = conflicts.filter((c) => c.kind === 'system_conflict');
    const foreignConflict = system.find((c) => c.ports[0] === foreign.port);
    expect(foreignConflict).toMatchObject({ worktrees: ['feat'], process: { pid: foreign.child.pid, cwd: fs.realpathSync(os.tmpdir()) } });
    expect(foreignConflict!.process!.command).toContain('node');
    expect(foreignConflict!.resolution).toContain(`kill ${foreign.child.pid}`);
    expect(system.find((c) => c.ports[0] === shared.port)).toMatchObject({ worktrees: ['feat'], message: expect.stringContaining(`belongs to the worktree at ${repo.main}`) });

    const text = await ports(repo.feat, ['check']);
    expect(text.code).toBe(4);
    expect(text.stdout).toContain('✗ registry conflict  port ' + shared.port);
    expect(text.stdout).toContain('2026-11-01');
    expect(text.stdout).toContain(`PID ${foreign.child.pid}`);
    expect(text.stdout).toContain('→ kill');
    expect(text.stderr).toMatch(/conflicts: 1 registry conflict, 2 system conflict/);
  });

  test('vanished worktree, .env drift, overlapping ranges, unknown service, wrong metadata, nothing listening', async () => {
    const repo = newRepo();
    const [p1, p2, p3, p4] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const gone = path.join(repo.root, 'gone');
    git(repo.main, 'worktree', 'add', '-q', gone);
    writeRegistry(
      repo,
      [allocation(p1, 'main', repo.main, 'web'), allocation(p2, 'feat', repo.feat, 'web'), allocation(p3, 'gone', gone, 'web'), allocation(p4, 'review-GH-42', undefined, 'queue')],
      (r) => {
        r.ranges.overlap = { start: p1, end: p1, description: 'overlaps web' };
        delete r.ranges.queue;
        r.metadata.total_allocations = 9;
      },
    );
    fs.rmSync(gone, { recursive: true, force: true }); // git sees it as prunable now
    await syncEnv(repo, repo.main);
    await syncEnv(repo, repo.feat);
    setEnvValue(repo.feat, 'PORT_WEB', p1 + 1);

    const result = await ports(repo.main, ['check', '--json']);
    expect(result.code).toBe(4);
    const conflicts = result.json<{ conflicts: ConflictJson[] }>().conflicts;
    expect(conflicts.map((c) => c.kind)).toEqual([
      'vanished_worktree',
      'env_out_of_step',
      'unknown_service',
      'overlapping_ranges',
      'metadata_out_of_step',
      'allocation_mismatch',
      'allocation_mismatch',
      'allocation_mismatch',
    ]);
    expect(conflicts[0]).toMatchObject({ ports: [p3], resolution: 'ports sync' });
    expect(conflicts[1]!.message).toContain(`PORT_WEB=${p1 + 1} but the registry says ${p2}`);
    expect(conflicts[1]!.resolution).toBe(`ports env --cwd ${repo.feat}`);

    const filtered = await ports(repo.main, ['check', '--json', '--ignore', 'allocation_mismatch,metadata-out-of-step']);
    expect(filtered.json<{ conflicts: ConflictJson[]; ignored: number }>()).toMatchObject({ ignored: 4 });
    const bad = await ports(repo.main, ['check', '--ignore', 'nonsense']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Unknown conflict kind "nonsense"');
  });

  test('without a registry: exit 2 with what to do', async () => {
    const repo = newRepo();
    const result = await ports(repo.main, ['check']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ports init');
  });
});

interface HealthJson extends Allocation {
  check: { type: string; level: number; detail: string; host: string | null; latency_ms: number | null };
}

describe('ports health', () => {
  test('healthy, unhealthy (500 and silent), not_running, IPv6-only; stores status and PID; exit 4', async () => {
    const repo = newRepo({ services: { web: { health: { path: '/health' } }, api: { health: { type: 'http' } }, testing: { health: { type: 'tcp' } } } });
    const ok = await track(startHttpServer('127.0.0.1', 200));
    const failing = await track(startHttpServer('127.0.0.1', 500));
    const silent = await track(startSilentTcpServer('127.0.0.1'));
    const child = await track(startChildListener({ cwd: repo.feat }));
    const nothing = await freePort();
    const v6 = (await canListenOn('::1')) ? await track(startHttpServer('::1', 200)) : null;
    const allocations = [
      allocation(ok.port, 'main', repo.main, 'web'),
      allocation(failing.port, 'feat', repo.feat, 'web'),
      allocation(silent.port, 'main', repo.main, 'api'),
      allocation(child.port, 'feat', repo.feat, 'testing'),
      allocation(nothing, 'review-GH-42', undefined, 'testing'),
      ...(v6 ? [allocation(v6.port, 'feat', repo.feat, 'api')] : []),
    ];
    writeRegistry(repo, allocations);

    const began = Date.now();
    const result = await ports(repo.main, ['health', '--timeout', '500', '--json']);
    expect(Date.now() - began).toBeLessThan(5000); // one 500 ms timeout plus git and config, with room for a loaded machine
    expect(result.code).toBe(4);
    const byPort = new Map(result.json<HealthJson[]>().map((r) => [r.port, r]));
    expect(byPort.get(ok.port)).toMatchObject({ health_status: 'healthy', process_id: process.pid, check: { type: 'http', host: '127.0.0.1' } });
    expect(ok.requests.map((r) => r.path)).toEqual(['/health']);
    expect(byPort.get(failing.port)).toMatchObject({ health_status: 'unhealthy', process_id: process.pid, check: { detail: expect.stringContaining('HTTP 500') } });
    expect(byPort.get(silent.port)).toMatchObject({ health_status: 'unhealthy', check: { detail: 'connected, but no HTTP response within 500 ms' } });
    expect(byPort.get(child.port)).toMatchObject({ health_status: 'healthy', process_id: child.child.pid, check: { type: 'tcp' } });
    expect(byPort.get(nothing)).toMatchObject({ health_status: 'not_running', process_id: null });
    if (v6) expect(byPort.get(v6.port)).toMatchObject({ health_status: 'healthy', process_id: process.pid, check: { host: '::1', detail: expect.stringContaining('HTTP 200') } });

    const stored = new Map(readRegistry(repo).allocations.map((a) => [a.port, a]));
    expect(stored.get(ok.port)).toMatchObject({ health_status: 'healthy', process_id: process.pid });
    expect(stored.get(child.port)).toMatchObject({ health_status: 'healthy', process_id: child.child.pid });
    expect(stored.get(nothing)).toMatchObject({ health_status: 'not_running', process_id: null });
    expect(readRegistry(repo).metadata.total_allocations).toBe(allocations.length);

    const text = await ports(repo.main, ['health', '--timeout', '500']);
    expect(text.code).toBe(4);
    expect(text.stdout).toMatch(new RegExp(`${ok.port}\\s+web\\s+main\\s+healthy\\s+${process.pid}`));
    expect(text.stdout).toMatch(new RegExp(`${nothing}\\s+testing\\s+review-GH-42\\s+not_running\\s+-`));
    expect(text.stderr).toContain('not healthy (1 not running');
  });

  test('--worktree checks only that worktree; exit 0 when all of it is healthy', async () => {
    const repo = newRepo();
    const ok = await track(startHttpServer('127.0.0.1', 200));
    writeRegistry(repo, [allocation(ok.port, 'feat', repo.feat, 'web'), allocation(await freePort(), 'main', repo.main, 'web')]);
    const result = await ports(repo.main, ['health', '--worktree', 'feat']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('All 1 checked port is healthy.');
    expect(readRegistry(repo).allocations.map((a) => a.health_status)).toEqual(['healthy', 'unknown']);
    const missing = await ports(repo.main, ['health', '--worktree', 'nope']);
    expect(missing.code).toBe(2);
  });

  withRedisOrPostgres('real redis-server and PostgreSQL answer their handshakes; the PID recorded is the server\'s', async () => {
    const redis = await startRedis();
    const postgres = await startPostgres();
    if (!redis) console.warn('skipped: redis-server not found (run .ci/install-services.sh)');
    if (!postgres) console.warn('skipped: PostgreSQL not found (run .ci/install-services.sh)');
    if (redis) started.push(redis);
    if (postgres) started.push(postgres);
    const repo = newRepo({ services: { cache: { health: { type: 'redis' } }, database: { health: { type: 'postgres' } } } });
    writeRegistry(repo, [...(redis ? [allocation(redis.port, 'main', repo.main, 'cache')] : []), ...(postgres ? [allocation(postgres.port, 'main', repo.main, 'database')] : [])]);
    const result = await ports(repo.main, ['health', '--json']);
    expect(result.code).toBe(0);
    const byPort = new Map(result.json<HealthJson[]>().map((r) => [r.port, r]));
    if (redis) expect(byPort.get(redis.port)).toMatchObject({ health_status: 'healthy', process_id: redis.pid, check: { type: 'redis', detail: 'PONG' } });
    if (postgres) expect(byPort.get(postgres.port)).toMatchObject({ health_status: 'healthy', process_id: postgres.pid, check: { type: 'postgres' } });
  }, 60000);

  test('30 silent ports with a 600 ms timeout take about one timeout, not thirty', async () => {
    const servers = await Promise.all(Array.from({ length: 30 }, () => track(startSilentTcpServer())));
    const repo = newRepo({ services: { testing: { health: { type: 'http', timeoutMs: 600 } } } });
    writeRegistry(repo, servers.map((s, i) => allocation(s.port, `wt-${i}`, undefined, 'testing')));
    const began = Date.now();
    const result = await ports(repo.main, ['health', '--json']);
    const elapsed = Date.now() - began;
    expect(result.code).toBe(4);
    expect(result.json<HealthJson[]>().every((r) => r.health_status === 'unhealthy')).toBe(true);
    // Serially this is 30 × 600 ms = 18 s; the command also runs git and loads config, so the
    // bound leaves room for a loaded machine while still failing on anything near serial.
    expect(elapsed).toBeLessThan(6000);
  });

  test('shows a progress line on a TTY only', async () => {
    const repo = newRepo();
    writeRegistry(repo, [allocation(await freePort(), 'main', repo.main, 'testing')]);
    const tty = await ports(repo.main, ['health'], { tty: true });
    expect(tty.stderr).toContain('Checking health: 1/1 ports');
    const pipe = await ports(repo.main, ['health']);
    expect(pipe.stderr).not.toContain('Checking health');
  });
});

describe('ports which', () => {
  test('names the registry owner, the listening PID, its command and cwd', async () => {
    const repo = newRepo();
    const child = await track(startChildListener({ cwd: repo.feat }));
    writeRegistry(repo, [allocation(child.port, 'feat', repo.feat, 'web')]);
    const text = await ports(repo.main, ['which', String(child.port)]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`registry:  web of feat (${repo.feat})`);
    expect(text.stdout).toContain(`listening: PID ${child.child.pid} `);
    expect(text.stdout).toContain(`cwd ${repo.feat}`);
    const json = (await ports(repo.main, ['which', String(child.port), '--json'])).json<{ held: boolean; allocations: Allocation[]; listeners: { pid: number; cwd: string }[] }>();
    expect(json).toMatchObject({ held: true, allocations: [{ worktree: 'feat', port: child.port }], listeners: [{ pid: child.child.pid, cwd: repo.feat }] });
  });

  test('a listener that is not in the registry, and a free port (exit 2)', async () => {
    const repo = newRepo();
    const stray = await track(startSilentTcpServer('127.0.0.1'));
    writeRegistry(repo, []);
    const held = await ports(repo.main, ['which', String(stray.port)]);
    expect(held.code).toBe(0);
    expect(held.stdout).toContain('registry:  not allocated');
    expect(held.stdout).toContain(`listening: PID ${process.pid}`);
    await stray.stop();
    const free = await ports(repo.main, ['which', String(stray.port)]);
    expect(free.code).toBe(2);
    expect(free.stdout).toContain(`Port ${stray.port} is free`);
    expect((await ports(repo.main, ['which', '70000'])).code).toBe(1);
  });

  test('a corrupt registry: which still answers from the machine (with a warning), check and health exit 5', async () => {
    const repo = newRepo();
    const server = await track(startSilentTcpServer());
    fs.mkdirSync(path.dirname(repo.registryFile), { recursive: true });
    fs.writeFileSync(repo.registryFile, '{"ranges": {}, "allocations": [');
    const which = await ports(repo.main, ['which', String(server.port)]);
    expect(which.code).toBe(0);
    expect(which.stdout).toContain(`listening: PID ${process.pid}`);
    expect(which.stderr).toContain('is corrupt');
    expect((await ports(repo.main, ['check'])).code).toBe(5);
    expect((await ports(repo.main, ['health'])).code).toBe(5);
    expect(fs.readFileSync(repo.registryFile, 'utf8')).toBe('{"ranges": {}, "allocations": [');
  });

  test('works outside any repository and without a registry', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-norepo-'));
    try {
      const server = await track(startSilentTcpServer());
      const result = await ports(dir, ['which', String(server.port)]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`listening: PID ${process.pid}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWithDocker('containers on a real engine', () => {
  const containers: string[] = [];
  afterAll(() => removeContainers(containers));

  function publishHttpd(project: string): { name: string; port: number } {
    const name = `ports-test-chw-${project}-${process.pid}`;
    containers.push(docker(['run', '-d', '--init', '--name', name, '--label', TEST_LABEL, '--label', `com.docker.compose.project=${project}`, '--label', 'com.docker.compose.service=web', '-p', '127.0.0.1::80', TEST_IMAGE, 'httpd', '-f', '-p', '80', '-h', '/www']));
    return { name, port: Number(docker(['port', name, '80/tcp']).split(':').pop()) };
  }

  test("check tells the worktree's own Compose stack from another project's; which names the container", async () => {
    const repo = newRepo();
    const other = publishHttpd('someone-else');
    writeRegistry(repo, [allocation(other.port, 'feat', repo.feat, 'web')]);
    await syncEnv(repo, repo.feat);
    const project = /^COMPOSE_PROJECT_NAME=(.*)$/m.exec(fs.readFileSync(path.join(repo.feat, '.env'), 'utf8'))![1]!;
    const own = publishHttpd(project);
    const registry = readRegistry(repo);
    registry.allocations.push(allocation(own.port, 'feat', repo.feat, 'api'));
    registry.ranges.api = { start: own.port, end: own.port, description: 'test api' };
    registry.metadata.total_allocations = 2;
    fs.writeFileSync(repo.registryFile, JSON.stringify(registry));
    await syncEnv(repo, repo.feat);

    const result = await ports(repo.main, ['check', '--json']);
    const conflicts = result.json<{ conflicts: (ConflictJson & { container: { name: string; compose_project: string } | null })[] }>().conflicts;
    expect(conflicts.map((c) => [c.kind, c.ports[0]])).toEqual([['system_conflict', other.port]]);
    expect(conflicts[0]!.container).toMatchObject({ name: other.name, compose_project: 'someone-else' });
    expect(conflicts[0]!.resolution).toMatch(new RegExp(`^docker stop ${other.name} `));
    expect(result.code).toBe(4);

    await waitFor('httpd in the container', async () => (await httpGet(own.port).catch(() => '')) || undefined);
    const health = await ports(repo.main, ['health', '--worktree', 'feat', '--json']);
    // Another project's container answers on feat's port, but it is not feat's service.
    expect(health.json<HealthJson[]>().map((r) => [r.port, r.health_status])).toEqual(expect.arrayContaining([[own.port, 'healthy'], [other.port, 'unhealthy']]));
    expect(readRegistry(repo).allocations.find((a) => a.port === other.port)).toMatchObject({ process_id: null });

    const which = await ports(repo.main, ['which', String(own.port)]);
    expect(which.code).toBe(0);
    expect(which.stdout).toContain(`container: ${own.name} (${TEST_IMAGE}, Compose ${project}/web) → container port 80/tcp`);
  }, 60000);
});
