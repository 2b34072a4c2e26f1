/**
 * One machine, every repository: allocation never hands out a port another registry of the
 * machine index holds, even when several repositories add worktrees at the same moment; the
 * machine view lists them all; opting out, pruning a deleted repository, skipping a corrupt one;
 * the machine lock is taken before the registry lock and only when something is added.
 * Every run uses this file's own state folder (PORTS_STATE_DIR), never the real home.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { acquireLock } from '../../src/io/lock';
import { entryFileFor, indexDir, machineLockTarget } from '../../src/io/machine-index';
import { cleanupTemps, expectAgreement, makeRepo, ports, portsOk, spawnRun, portsBin, testEnv, type Repo } from '../helpers/repo';

const STATE_DIR = process.env.PORTS_STATE_DIR as string;
// Passed explicitly: the helpers drop every PORTS_* variable from a child's environment.
const STATE = { PORTS_STATE_DIR: STATE_DIR };
const stateEnv = { ...process.env, ...STATE };
const BASE = 25300;

afterAll(() => cleanupTemps());

function indexedRegistries(): string[] {
  if (!fs.existsSync(indexDir(stateEnv))) return [];
  return fs
    .readdirSync(indexDir(stateEnv))
    .filter((name) => name.endsWith('.json'))
    .map((name) => (JSON.parse(fs.readFileSync(path.join(indexDir(stateEnv), name), 'utf8')) as { registry: string }).registry)
    .sort();
}

function portOf(repo: Repo, args: string[], cwd = repo.main): number {
  return Number(portsOk([...args, '--quiet'], cwd, STATE).trim());
}

interface MachineRecord {
  port: number;
  repo: string;
  registry: string;
  worktree: string;
  worktree_path?: string;
  service: string;
}

function machineRecords(cwd: string): MachineRecord[] {
  return JSON.parse(portsOk(['status', '--machine', '--json'], cwd, STATE)) as MachineRecord[];
}

describe('three repositories with the same ranges', () => {
  test('adding 6 worktrees each, all at once through the hook, hands out no port twice on the machine; every .env matches its registry; status --machine lists them all', async () => {
    // Installed under this file's state folder too: `ports install` gives each main worktree its
    // ports, and the worktrees added below must see them through the same machine index.
    const repos = ['alpha', 'beta', 'gamma'].map((name) => {
      const repo = makeRepo({ base: BASE, name });
      portsOk(['install'], repo.main, STATE);
      return repo;
    });
    const adds = repos.flatMap((repo) =>
      Array.from({ length: 6 }, (_, i) => {
        const name = `${path.basename(repo.main)}-${i + 1}`;
        return { repo, dir: repo.wt(name), run: spawnRun('git', ['worktree', 'add', '-q', '-b', name, repo.wt(name)], repo.main, { ...STATE, PORTS_LOCK_TIMEOUT_MS: '120000' }) };
      }),
    );
    const runs = await Promise.all(adds.map((a) => a.run));
    const created = adds.filter((a) => a.repo.listed().includes(a.dir));
    // git itself sometimes fails a parallel add in one repository (a ref or config lock): judge the worktrees that exist.
    expect(created.length).toBeGreaterThanOrEqual(12);
    adds.forEach((a, i) => {
      if (runs[i]!.status === 0) expect(created).toContain(a);
      expect(runs[i]!.stderr).not.toMatch(/post-checkout hook:/);
    });

    for (const { repo, dir } of created) expectAgreement(repo, dir);
    // `ports install` gave each main worktree its ports too.
    for (const repo of repos) expectAgreement(repo, repo.main);
    const all = repos.flatMap((repo) => repo.registry().allocations);
    expect(all).toHaveLength((created.length + repos.length) * 4);
    const taken = all.map((a) => a.port);
    expect(taken.filter((p, i) => taken.indexOf(p) !== i)).toEqual([]);
    // Each allocation records the repository it was made for.
    for (const repo of repos) for (const a of repo.registry().allocations) expect(a.repo).toBe(repo.main);

    expect(indexedRegistries()).toEqual(expect.arrayContaining(repos.map((r) => r.registryFile)));
    const records = machineRecords(repos[0]!.main).filter((r) => repos.some((repo) => repo.main === r.repo));
    expect(records).toHaveLength(all.length);
    for (const repo of repos) {
      const mine = records.filter((r) => r.repo === repo.main);
      expect(mine.every((r) => r.registry === repo.registryFile)).toBe(true);
      expect(mine.map((r) => r.port).sort()).toEqual(repo.registry().allocations.map((a) => a.port).sort());
    }
    const text = portsOk(['status', '--machine'], repos[1]!.main, STATE);
    for (const repo of repos) expect(text).toContain(repo.main);

    // `ports which` in one repository names the owner in another.
    const held = repos[2]!.registry().allocations[0]!;
    const which = JSON.parse(portsOk(['which', String(held.port), '--json'], repos[0]!.main, STATE)) as { held: boolean; other_repositories: { repo: string; worktree: string }[] };
    expect(which.held).toBe(true);
    expect(which.other_repositories).toEqual([expect.objectContaining({ repo: repos[2]!.main, worktree: held.worktree })]);
  });
});

describe('allocate --port and next', () => {
  test('a port another repository holds is refused by --port, skipped by next and by allocate', () => {
    const first = makeRepo({ base: BASE + 1000, name: 'first' });
    const second = makeRepo({ base: BASE + 1000, name: 'second' });
    const web = first.services[0]!;
    expect(portOf(first, ['allocate', 'web', '--worktree', 'one'])).toBe(web.start);
    portsOk(['init'], second.main, STATE);
    const refused = ports(['allocate', 'web', '--worktree', 'two', '--port', String(web.start)], second.main, STATE);
    expect(refused.status).toBe(4);
    expect(refused.stderr).toContain(`Port ${web.start} is already allocated in another repository`);
    expect(refused.stderr).toContain(first.main);
    expect(JSON.parse(portsOk(['next', 'web', '--json'], second.main, STATE))).toMatchObject({ port: web.start + 1, other_repositories: [web.start] });
    expect(portOf(second, ['allocate', 'web', '--worktree', 'two'])).toBe(web.start + 1);
  });
});

describe('opting out with "machine": false', () => {
  test('the repository is not recorded, does not avoid the others, and is not avoided', () => {
    const inside = makeRepo({ base: BASE + 1100, name: 'inside' });
    const outside = makeRepo({ base: BASE + 1100, name: 'outside' });
    const config = JSON.parse(fs.readFileSync(path.join(outside.main, '.portsrc.json'), 'utf8')) as object;
    fs.writeFileSync(path.join(outside.main, '.portsrc.json'), JSON.stringify({ ...config, machine: false }));
    const web = inside.services[0]!;
    expect(portOf(inside, ['allocate', 'web', '--worktree', 'in-1'])).toBe(web.start);
    expect(portOf(outside, ['allocate', 'web', '--worktree', 'out-1'])).toBe(web.start);
    expect(indexedRegistries()).toContain(inside.registryFile);
    expect(indexedRegistries()).not.toContain(outside.registryFile);
    expect(portOf(inside, ['allocate', 'web', '--worktree', 'in-2'])).toBe(web.start + 1);
    expect(machineRecords(inside.main).some((r) => r.repo === outside.main)).toBe(false);
  });
});

describe('pruning and unreadable registries', () => {
  test('a deleted repository stays listed by status --machine (reads never write) and is pruned by the next allocation anywhere; its ports are free again', () => {
    const gone = makeRepo({ base: BASE + 1200, name: 'doomed' });
    const stays = makeRepo({ base: BASE + 1200, name: 'stays' });
    const web = gone.services[0]!;
    expect(portOf(gone, ['allocate', 'web', '--worktree', 'g-1'])).toBe(web.start);
    fs.rmSync(gone.root, { recursive: true, force: true });
    expect(fs.existsSync(entryFileFor(stateEnv, gone.registryFile))).toBe(true);

    const listed = ports(['status', '--machine', '--json'], stays.main, STATE);
    expect(listed.status).toBe(0);
    expect(fs.existsSync(entryFileFor(stateEnv, gone.registryFile))).toBe(true);

    expect(portOf(stays, ['allocate', 'web', '--worktree', 's-1'])).toBe(web.start);
    expect(fs.existsSync(entryFileFor(stateEnv, gone.registryFile))).toBe(false);
    expect(indexedRegistries()).toContain(stays.registryFile);
  });

  test('a corrupt registry of another repository is skipped, never an error, and keeps its entry', () => {
    const corrupt = makeRepo({ base: BASE + 1300, name: 'corrupt' });
    const healthy = makeRepo({ base: BASE + 1300, name: 'healthy' });
    const web = corrupt.services[0]!;
    expect(portOf(corrupt, ['allocate', 'web', '--worktree', 'c-1'])).toBe(web.start);
    fs.writeFileSync(corrupt.registryFile, '{"ranges": {}, "allocations": [ <<<<<<< HEAD');

    const allocated = ports(['allocate', 'web', '--worktree', 'h-1', '--quiet'], healthy.main, STATE);
    expect(allocated.status).toBe(0);
    expect(Number(allocated.stdout.trim())).toBe(web.start);
    expect(fs.existsSync(entryFileFor(stateEnv, corrupt.registryFile))).toBe(true);
    const status = ports(['status', '--machine', '--json'], healthy.main, STATE);
    expect(status.status).toBe(0);
    expect(status.stderr).toContain(`ports: warning: skipped ${corrupt.registryFile}`);
    expect(status.stderr).not.toContain('ports: warning: ports:');
    expect((JSON.parse(status.stdout) as MachineRecord[]).some((r) => r.repo === healthy.main && r.port === web.start)).toBe(true);
  });
});

describe('a registry shared by two repositories (PORTS_REGISTRY)', () => {
  test('every allocation made for a worktree records its repository', () => {
    const one = makeRepo({ base: BASE + 1400, name: 'one' });
    const two = makeRepo({ base: BASE + 1400, name: 'two' });
    const shared = path.join(one.root, 'shared-ports.json');
    const env = { ...STATE, PORTS_REGISTRY: shared };
    portsOk(['allocate', 'web'], one.main, env);
    portsOk(['allocate', 'web'], two.main, env);
    const allocations = (JSON.parse(fs.readFileSync(shared, 'utf8')) as { allocations: { worktree_path: string; repo: string; port: number }[] }).allocations;
    expect(allocations.map((a) => [a.worktree_path, a.repo])).toEqual([
      [one.main, one.main],
      [two.main, two.main],
    ]);
    expect(new Set(allocations.map((a) => a.port)).size).toBe(2);
  });
});

describe('the machine lock', () => {
  test('is waited for only by a run that adds a port, with no registry lock held meanwhile; a run that adds nothing never touches it', async () => {
    const repo = makeRepo({ base: BASE + 1500, name: 'locked' });
    const web = repo.services[0]!;
    portsOk(['allocate'], repo.main, STATE);
    expect(portOf(repo, ['allocate', 'web', '--worktree', 'spare'])).toBe(web.start + 1);
    const lock = await acquireLock(machineLockTarget(stateEnv));
    try {
      // Every declared service held already: no machine lock needed, however long it is held.
      const again = ports(['allocate'], repo.main, { ...STATE, PORTS_LOCK_TIMEOUT_MS: '1000' });
      expect(again.status).toBe(0);
      expect(again.stdout).toMatch(/already held/);
      // A new port waits for it, and names the lock when it gives up.
      const refused = ports(['allocate', 'web', '--worktree', 'late'], repo.main, { ...STATE, PORTS_LOCK_TIMEOUT_MS: '500' });
      expect(refused.status).toBe(5);
      expect(refused.stderr).toContain(`machine lock ${machineLockTarget(stateEnv)}.lock`);
      // While one waits for it, the repository's registry stays free for everyone else.
      const waiter = spawn(process.execPath, [portsBin(), 'allocate', 'web', '--worktree', 'waiter', '--quiet', '--verbose'], {
        cwd: repo.main,
        env: testEnv({ ...STATE, PORTS_LOCK_TIMEOUT_MS: '60000' }),
      });
      let stdout = '';
      let stderr = '';
      waiter.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      const exited = new Promise<number | null>((resolve) => waiter.once('close', resolve));
      await new Promise<void>((resolve, reject) => {
        waiter.stderr.setEncoding('utf8').on('data', (d: string) => {
          stderr += d;
          if (stderr.includes('waiting for the machine lock')) resolve();
        });
        waiter.once('close', () => reject(new Error(`the waiter exited without waiting: ${stderr}`)));
      });
      const released = ports(['release', String(web.start + 1), '--quiet'], repo.main, { ...STATE, PORTS_LOCK_TIMEOUT_MS: '5000' });
      expect(released.stderr).toBe('');
      expect(released.status).toBe(0);
      lock.release();
      expect(await exited).toBe(0);
      // The port released meanwhile is the lowest free one again.
      expect(Number(stdout.trim())).toBe(web.start + 1);
    } finally {
      lock.release();
    }
  });
});
