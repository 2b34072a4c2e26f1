/**
 * `ports doctor [--fix]` on real temp repositories (git init, git worktree add, the installed
 * hook, the built CLI): each scenario `ports doctor` diagnoses is produced for real, diagnosed, fixed where
 * that is safe, and the repository is left working — a new worktree gets its ports and its
 * .env agrees with the registry.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { buildSync } from 'esbuild';
import type { Finding } from '../../src/core/diagnosis';
import type { Registry } from '../../src/core/registry-schema';
import { cleanupTemps, copyPackage, expectAgreement, expectDistinctPorts, git, makeInstalledRepo, ports, portsOk, type Repo } from '../helpers/repo';
import { startChildListener, type ChildListener } from '../helpers/servers';

// Below 32768: Linux hands out 32768-60999 to listen(0) and outgoing connections of parallel tests.
const BASE = 25300;

interface DoctorReport {
  ok: boolean;
  registry: string;
  fixed: string[];
  findings: Finding[];
}

function doctor(repo: Repo, ...flags: string[]): { status: number | null; report: DoctorReport; stderr: string } {
  const r = ports(['doctor', '--json', ...flags], repo.main);
  let report: DoctorReport;
  try {
    report = JSON.parse(r.stdout) as DoctorReport;
  } catch {
    throw new Error(`ports doctor ${flags.join(' ')} printed no JSON (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, report, stderr: r.stderr };
}

const kinds = (report: DoctorReport, counting?: boolean) => report.findings.filter((f) => counting === undefined || f.counts === counting).map((f) => f.kind);

/** A repo with the hook installed, a linked worktree made by `git worktree add` (the hook allocates), and the main worktree allocated. */
function workingRepo(): { repo: Repo; feature: string } {
  const repo = makeInstalledRepo({ base: BASE });
  const feature = repo.wt('feature');
  git(['worktree', 'add', '-q', feature], repo.main);
  portsOk(['allocate'], repo.main);
  expectAgreement(repo, feature);
  expectAgreement(repo, repo.main);
  return { repo, feature };
}

/** After a fix: a new worktree gets its ports from the hook, and every worktree's .env agrees with the registry. */
function expectWorking(repo: Repo, worktrees: string[]): void {
  const fresh = repo.wt(`fresh-${Date.now()}`);
  git(['worktree', 'add', '-q', fresh], repo.main);
  for (const dir of [...worktrees, fresh]) expectAgreement(repo, dir);
  expectDistinctPorts(repo.registry());
  const after = doctor(repo);
  expect(kinds(after.report, true)).toEqual([]);
  expect(after.status).toBe(0);
}

/**
 * A real writeFileAtomic of the registry, killed while its temp file exists (its rename never
 * comes): the temp file is named exactly as the tool names it. Returns the temp file's path.
 */
async function tempFileOfKilledWriter(registryFile: string): Promise<string> {
  const bundle = path.join(path.dirname(registryFile), '..', 'atomic-write.cjs');
  buildSync({ entryPoints: [path.join(__dirname, '../../src/io/atomic-write.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'error' });
  const script = `const fs = require('node:fs');
    fs.renameSync = () => { process.stdout.write('written'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); };
    require(${JSON.stringify(bundle)}).writeFileAtomic(${JSON.stringify(registryFile)}, '{"half": ');`;
  const writer = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => writer.stdout.once('data', () => resolve()));
  const exited = new Promise((resolve) => writer.once('exit', resolve));
  writer.kill('SIGKILL');
  await exited;
  fs.rmSync(bundle);
  const temps = fs.readdirSync(path.dirname(registryFile)).filter((name) => name.startsWith(`ports.json.${writer.pid}.`));
  expect(temps).toHaveLength(1);
  return path.join(path.dirname(registryFile), temps[0]!);
}

const listeners: ChildListener[] = [];
afterEach(async () => {
  for (const l of listeners.splice(0)) await l.stop();
});
afterAll(() => cleanupTemps());

describe('ports doctor', () => {
  test('a healthy repository whose services are not started exits 0 and says so as a note only', () => {
    const { repo } = workingRepo();
    const { status, report } = doctor(repo);
    expect(kinds(report, true)).toEqual([]);
    expect(kinds(report)).toContain('not_started');
    expect(status).toBe(0);
    const text = ports(['doctor'], repo.main);
    expect(text.status).toBe(0);
    expect(text.stderr).toMatch(/no problems with the registry, lock, hooks or \.env files/);
  });

  test('a corrupt registry: diagnosed without touching it, then backed up and rebuilt from the worktrees’ .env blocks', () => {
    const { repo, feature } = workingRepo();
    const before = repo.registry();
    // A trailing comma, as a hand edit leaves it.
    const corrupt = repo.registryText().replace(/("schema_version": \d+)/, '$1,');
    expect(corrupt).not.toBe(repo.registryText());
    fs.writeFileSync(repo.registryFile, corrupt);
    expect(ports(['allocate'], feature).status).toBe(5);

    const diagnosed = doctor(repo);
    expect(diagnosed.status).toBe(4);
    expect(kinds(diagnosed.report, true)).toEqual(['registry_corrupt']);
    expect(diagnosed.report.findings[0]!.detail).toMatch(/not valid JSON at line \d+, column \d+/);
    expect(fs.readFileSync(repo.registryFile, 'utf8')).toBe(corrupt);

    const fixed = doctor(repo, '--fix');
    expect(fixed.status).toBe(0);
    const backups = fs.readdirSync(path.dirname(repo.registryFile)).filter((f) => f.startsWith('ports.json.corrupt-'));
    expect(backups).toHaveLength(1);
    expect(fs.readFileSync(path.join(path.dirname(repo.registryFile), backups[0]!), 'utf8')).toBe(corrupt);
    const rebuilt = repo.registry();
    const key = (r: Registry) => r.allocations.map((a) => `${a.worktree_path} ${a.service} ${a.port}`).sort();
    expect(key(rebuilt)).toEqual(key(before));
    expect(rebuilt.metadata.total_allocations).toBe(rebuilt.allocations.length);
    expectWorking(repo, [repo.main, feature]);
  });

  test('a registry that is JSON but breaks the schema: rebuilt from the .env blocks, allocations made by name kept', () => {
    const { repo, feature } = workingRepo();
    portsOk(['allocate', 'web', '--worktree', 'review-GH-42'], repo.main);
    const registry = repo.registry();
    const byName = registry.allocations.find((a) => a.worktree === 'review-GH-42')!;
    (registry.allocations.find((a) => a.worktree_path === feature && a.service === 'api') as unknown as Record<string, unknown>).port = 'soon';
    fs.writeFileSync(repo.registryFile, JSON.stringify(registry, null, 2) + '\n');
    const diagnosed = doctor(repo);
    expect(diagnosed.status).toBe(4);
    expect(diagnosed.report.findings[0]!.detail).toMatch(/allocations\[\d+\]\.port: expected a number, got the text "soon"/);
    const fixed = doctor(repo, '--fix');
    expect(fixed.status).toBe(0);
    expect(fixed.report.fixed.join('\n')).toMatch(/kept 1 allocation made by name/);
    expect(repo.registry().allocations.filter((a) => a.worktree === 'review-GH-42').map((a) => a.port)).toEqual([byName.port]);
    expectWorking(repo, [repo.main, feature]);
  });

  test('a registry lost to `git clean -fdx`: the worktrees keep their ports, rebuilt from their .env blocks', () => {
    const { repo, feature } = workingRepo();
    const featurePorts = repo.allocationsOf(feature).map((a) => `${a.service} ${a.port}`).sort();
    git(['clean', '-q', '-fdx'], repo.main);
    expect(fs.existsSync(repo.registryFile)).toBe(false);
    const diagnosed = doctor(repo);
    expect(diagnosed.status).toBe(4);
    expect(kinds(diagnosed.report, true)).toEqual(['registry_lost']);
    const fixed = doctor(repo, '--fix');
    expect(fixed.status).toBe(0);
    expect(repo.allocationsOf(feature).map((a) => `${a.service} ${a.port}`).sort()).toEqual(featurePorts);
    // The main worktree lost its .env too: the same --fix gave it ports again.
    expect(fixed.report.fixed.join('\n')).toMatch(/allocated .* for main and wrote/);
    expectWorking(repo, [repo.main, feature]);
  });

  test('a worktree made with --no-checkout (no hook ran) is a note, and --fix allocates its declared services', () => {
    const { repo, feature } = workingRepo();
    const bare = repo.wt('no-checkout');
    git(['worktree', 'add', '-q', '--no-checkout', bare], repo.main);
    expect(repo.allocationsOf(bare)).toEqual([]);
    const diagnosed = doctor(repo);
    expect(diagnosed.status).toBe(0);
    expect(diagnosed.report.findings.find((f) => f.kind === 'services_unallocated')!.title).toMatch(/^no-checkout has no port for web, api, database, cache/);
    expect(doctor(repo, '--fix').status).toBe(0);
    expectWorking(repo, [repo.main, feature, bare]);
  });

  test('a stale lock and the temp file of a writer killed mid-write: reported, then removed by --fix', async () => {
    const { repo, feature } = workingRepo();
    const dead = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
    const pid = Number(dead.stdout.trim());
    const lock = `${repo.registryFile}.lock`;
    fs.writeFileSync(lock, JSON.stringify({ pid, host: os.hostname(), start_time: null, boot_id: null, pid_ns: null, token: 'f'.repeat(32), acquired_at: new Date().toISOString() }));
    const temp = await tempFileOfKilledWriter(repo.registryFile);

    const diagnosed = doctor(repo);
    expect(diagnosed.status).toBe(4);
    expect(kinds(diagnosed.report, true).sort()).toEqual(['stale_lock', 'temp_files']);
    expect(diagnosed.report.findings.find((f) => f.kind === 'stale_lock')!.detail).toContain(`process ${pid} is not running`);
    expect(diagnosed.report.findings.find((f) => f.kind === 'temp_files')!.detail).toContain(temp);
    expect(fs.existsSync(lock) && fs.existsSync(temp)).toBe(true);

    const fixed = doctor(repo, '--fix');
    expect(fixed.status).toBe(0);
    expect(fixed.report.fixed.join('\n')).toMatch(/removed the stale lock/);
    expect(fixed.report.fixed.join('\n')).toContain(path.basename(temp));
    expect(fs.existsSync(lock) || fs.existsSync(temp)).toBe(false);
    expectWorking(repo, [repo.main, feature]);
  });

  describe('a folder where the registry lock goes', () => {
    const writers: string[][] = [['init', '--force'], ['allocate'], ['release', '--worktree', 'feature'], ['sync'], ['doctor', '--fix']];

    function expectLockRefusal(r: { status: number | null; stderr: string }, lock: string): void {
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 5, stderr: expect.stringContaining(lock) });
      expect(r.stderr).toMatch(/Move the directory .* out of the way/);
      expect(r.stderr).not.toMatch(/internal error/);
    }

    test('with a healthy registry: every writing command exits 5 naming the lock path, and doctor reports it', () => {
      const { repo, feature } = workingRepo();
      const lock = `${repo.registryFile}.lock`;
      fs.mkdirSync(lock);
      const before = repo.registryText();
      for (const args of writers) expectLockRefusal(ports(args, feature), lock);
      expect(repo.registryText()).toBe(before);
      const diagnosed = doctor(repo);
      expect(diagnosed.status).toBe(4);
      expect(kinds(diagnosed.report, true)).toEqual(['lock_unusable']);
      expect(diagnosed.report.findings[0]!.action).toContain(`Move ${lock} out of the way`);
      fs.rmdirSync(lock);
      expectWorking(repo, [repo.main, feature]);
    });

    test('with a corrupt registry: init --force and doctor --fix exit 5 and leave the file alone', () => {
      const { repo, feature } = workingRepo();
      const lock = `${repo.registryFile}.lock`;
      fs.mkdirSync(lock);
      const corrupt = repo.registryText().replace(/("schema_version": \d+)/, '$1,');
      fs.writeFileSync(repo.registryFile, corrupt);
      for (const args of [['init', '--force'], ['doctor', '--fix']]) expectLockRefusal(ports(args, repo.main), lock);
      expect(repo.registryText()).toBe(corrupt);
      expect(fs.readdirSync(path.dirname(repo.registryFile)).filter((f) => f.includes('.corrupt-'))).toEqual([]);
      expect(kinds(doctor(repo).report, true).sort()).toEqual(['lock_unusable', 'registry_corrupt']);
      fs.rmdirSync(lock);
      expect(doctor(repo, '--fix').status).toBe(0);
      expectWorking(repo, [repo.main, feature]);
    });
  });

  test('hooks not installed: `git worktree add` would allocate nothing; --fix reinstalls the hook', () => {
    const { repo, feature } = workingRepo();
    portsOk(['uninstall'], repo.main);
    const diagnosed = doctor(repo);
    expect(diagnosed.status).toBe(4);
    expect(kinds(diagnosed.report, true)).toEqual(['hooks_missing']);
    const fixed = doctor(repo, '--fix');
    expect(fixed.status).toBe(0);
    expect(fs.readFileSync(path.join(repo.main, '.git', 'hooks', 'post-checkout'), 'utf8')).toContain('# >>> ports >>>');
    expectWorking(repo, [repo.main, feature]);
  });

  test('a hook that finds no worktree-ports (no node_modules copy, nothing on PATH): reported with what to install', () => {
    const { repo } = workingRepo();
    // The machine's PATH, without the test's global-install link.
    const r = ports(['doctor', '--json'], repo.main, { PATH: process.env.PATH });
    expect(r.status).toBe(4);
    const report = JSON.parse(r.stdout) as DoctorReport;
    expect(kinds(report, true)).toEqual(['hooks_broken']);
    expect(report.findings[0]!.detail).toMatch(/finds no worktree-ports/);
    expect(report.findings[0]!.action).toContain('npm install --save-dev worktree-ports');
    // With the package in the main worktree's node_modules, the hook finds it.
    fs.cpSync(copyPackage(), path.join(repo.main, 'node_modules', 'worktree-ports'), { recursive: true });
    const after = JSON.parse(ports(['doctor', '--json'], repo.main, { PATH: process.env.PATH }).stdout) as DoctorReport;
    expect(kinds(after, true)).toEqual([]);
  });

  test('a hook that is not executable: reported, and --fix (asked to repair it) makes it executable', () => {
    const { repo } = workingRepo();
    const hook = path.join(repo.main, '.git', 'hooks', 'post-checkout');
    fs.chmodSync(hook, 0o644);
    const diagnosed = doctor(repo);
    expect(kinds(diagnosed.report, true)).toEqual(['hooks_broken']);
    expect(doctor(repo, '--fix').status).toBe(0);
    expect(fs.statSync(hook).mode & 0o777).toBe(0o755);
  });

  test('duplicate entries, stale metadata, a vanished worktree and a drifted .env are repaired in one --fix, the older claim kept', () => {
    const { repo, feature } = workingRepo();
    const gone = repo.wt('gone');
    git(['worktree', 'add', '-q', gone], repo.main);
    const goneWeb = repo.allocationsOf(gone).find((a) => a.service === 'web')!.port;
    fs.rmSync(gone, { recursive: true, force: true });

    // Hand-merged registry: feature's web port claimed again, newer, by the main worktree's api entry's twin; metadata stale.
    const registry = repo.registry();
    const featureWeb = registry.allocations.find((a) => a.worktree_path === feature && a.service === 'web')!;
    const mainWeb = registry.allocations.find((a) => a.worktree_path === repo.main && a.service === 'web')!;
    mainWeb.port = featureWeb.port;
    mainWeb.allocated_at = new Date(Date.parse(featureWeb.allocated_at) + 60_000).toISOString();
    registry.metadata.total_allocations = 99;
    fs.writeFileSync(repo.registryFile, JSON.stringify(registry, null, 2) + '\n');
    // Someone edited the managed block by hand.
    const envFile = path.join(feature, '.env');
    fs.writeFileSync(envFile, fs.readFileSync(envFile, 'utf8').replace(/^API_PORT=\d+$/m, 'API_PORT=1'));

    const diagnosed = doctor(repo);
    expect(diagnosed.status).toBe(4);
    expect(kinds(diagnosed.report, true)).toEqual(expect.arrayContaining(['registry_conflict', 'metadata_out_of_step', 'vanished_worktree', 'env_out_of_step']));
    expect(diagnosed.report.findings.every((f) => !f.counts || f.fixable)).toBe(true);

    const fixed = doctor(repo, '--fix');
    expect(fixed.status).toBe(0);
    const after = repo.registry();
    expect(after.allocations.find((a) => a.port === featureWeb.port)!.worktree_path).toBe(feature);
    expect(after.allocations.some((a) => a.worktree_path === gone)).toBe(false);
    expect(after.allocations.filter((a) => a.port === goneWeb && a.worktree_path === gone)).toEqual([]);
    expect(fixed.report.fixed.join('\n')).toMatch(/gave main port \d+ for web instead/);
    expectWorking(repo, [repo.main, feature]);
  });

  test('a registry tracked by git is reported until it is untracked (doctor does not rewrite history)', () => {
    const { repo } = workingRepo();
    git(['add', '-f', 'design/worktrees/ports.json'], repo.main);
    git(['commit', '-q', '-m', 'oops: commit the registry'], repo.main);
    const diagnosed = doctor(repo, '--fix');
    expect(diagnosed.status).toBe(4);
    const tracked = diagnosed.report.findings.find((f) => f.kind === 'registry_tracked')!;
    expect(tracked.action).toContain('git rm --cached design/worktrees/ports.json');
    git(['rm', '-q', '--cached', 'design/worktrees/ports.json'], repo.main);
    git(['commit', '-q', '-m', 'stop tracking the registry'], repo.main);
    expect(doctor(repo).status).toBe(0);
  });

  test('an allocated port held by a foreign process is a problem (with its PID); a busy port the registry counts as free is a note', async () => {
    const { repo, feature } = workingRepo();
    const featureApi = repo.allocationsOf(feature).find((a) => a.service === 'api')!.port;
    const intruder = await startChildListener({ host: '127.0.0.1', port: featureApi, cwd: repo.root });
    listeners.push(intruder);
    const apiRange = repo.services.find((s) => s.name === 'api')!;
    const taken = new Set(repo.registry().allocations.map((a) => a.port));
    let freePort = apiRange.end;
    while (taken.has(freePort)) freePort--;
    listeners.push(await startChildListener({ host: '127.0.0.1', port: freePort, cwd: repo.root }));

    const diagnosed = doctor(repo, '--fix');
    expect(diagnosed.status).toBe(4);
    const inUse = diagnosed.report.findings.find((f) => f.kind === 'port_in_use')!;
    expect(inUse.ports).toEqual([featureApi]);
    expect(inUse.detail).toContain(`PID ${intruder.pid}`);
    expect(inUse.action).toMatch(new RegExp(`kill ${intruder.pid}`));
    const busy = diagnosed.report.findings.find((f) => f.kind === 'busy_unallocated')!;
    expect(busy.counts).toBe(false);
    expect(busy.ports).toContain(freePort);
    // The way out doctor names works, and the repository is healthy again.
    portsOk(['release', String(featureApi)], feature);
    portsOk(['allocate'], feature);
    expect(repo.allocationsOf(feature).find((a) => a.service === 'api')!.port).not.toBe(featureApi);
    expect(doctor(repo).status).toBe(0);
  });

  test('health says not_running while the service runs: a note that points at interface, timeout and auth', async () => {
    const { repo, feature } = workingRepo();
    const web = repo.allocationsOf(feature).find((a) => a.service === 'web')!.port;
    listeners.push(await startChildListener({ host: '::1', port: web, cwd: feature }));
    const registry = repo.registry();
    registry.allocations.find((a) => a.port === web)!.health_status = 'not_running';
    fs.writeFileSync(repo.registryFile, JSON.stringify(registry, null, 2) + '\n');
    const { status, report } = doctor(repo);
    expect(status).toBe(0);
    const stale = report.findings.find((f) => f.kind === 'health_stale')!;
    expect(stale.action).toMatch(/health\.host/);
    expect(report.findings.find((f) => f.kind === 'loopback_only')!.detail).toMatch(/127\.0\.0\.1/);
  });

  test('an exhausted range is a problem with the ways out: release not_running ports, widen the range', () => {
    const { repo } = workingRepo();
    const registry = repo.registry();
    const cache = repo.services.find((s) => s.name === 'cache')!;
    const held = new Set(registry.allocations.map((a) => a.port));
    for (let port = cache.start; port <= cache.end; port++) {
      if (held.has(port)) continue;
      registry.allocations.push({
        port,
        worktree: `review-${port}`,
        service: 'cache',
        allocated_at: '2026-11-01T00:00:00.000Z',
        allocated_by: 'ci@host',
        description: '',
        process_id: null,
        health_status: 'not_running',
      });
    }
    registry.metadata.total_allocations = registry.allocations.length;
    fs.writeFileSync(repo.registryFile, JSON.stringify(registry, null, 2) + '\n');
    const { status, report } = doctor(repo);
    expect(status).toBe(4);
    const exhausted = report.findings.find((f) => f.kind === 'range_exhausted')!;
    expect(exhausted.detail).toMatch(/not running: \d+/);
    expect(exhausted.action).toMatch(/widen "ranges\.cache"/);
  });
});
