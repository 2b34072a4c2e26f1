/**
 * End to end: the built `bin/ports.js` in temp git repositories, with a test-private registry
 * (PORTS_REGISTRY) and ranges private to the test (one OS-assigned port per service), so no
 * real service on the machine is touched. GIT_* variables are stripped from every spawn.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Registry } from '../../src/core/registry-schema';
import { cleanEnv, runPortsAsync, type RunResult } from '../helpers/cli';
import { git, initRepo } from '../helpers/repo';
import { freePort, startChildListener, startHttpServer, type ChildListener, type Stoppable } from '../helpers/servers';

const ROOT = path.resolve(__dirname, '../..');
const BUNDLE = path.join(ROOT, 'dist', 'ports.cjs');
const env = cleanEnv();

/** Builds when the bundle is missing or older than a source file (a fresh checkout, or edits since). */
beforeAll(() => {
  const newestSource = Math.max(...listFiles(path.join(ROOT, 'src')).map((f) => fs.statSync(f).mtimeMs));
  if (fs.existsSync(BUNDLE) && fs.statSync(BUNDLE).mtimeMs >= newestSource) return;
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, env, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stdout}${build.stderr}`);
}, 120000);

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Async, so servers in this process keep answering while the CLI probes them. */
function ports(cwd: string, registry: string, ...args: string[]): Promise<RunResult> {
  return runPortsAsync(args, { cwd, env: cleanEnv({ PORTS_REGISTRY: registry }) });
}

let root: string;
let main: string;
let feat: string;
let registryFile: string;
const started: Stoppable[] = [];

beforeEach(() => {
  ({ root, main } = initRepo({ prefix: 'ports-e2e-health-' }));
  feat = path.join(root, 'feat');
  registryFile = path.join(root, 'registry', 'ports.json');
  git(['worktree', 'add', '-q', feat], main);
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
  fs.rmSync(root, { recursive: true, force: true });
});

function writeConfig(dir: string, config: object): void {
  fs.writeFileSync(path.join(dir, '.portsrc.json'), JSON.stringify(config, null, 2));
}

function registry(): Registry {
  return JSON.parse(fs.readFileSync(registryFile, 'utf8')) as Registry;
}

async function listenIn(cwd: string, options: { port?: number; host?: string } = {}): Promise<ChildListener> {
  const listener = await startChildListener({ cwd, ...options });
  started.push(listener);
  return listener;
}

test('allocate, then health and check follow the services as they start (exit 4 until all run, then 0)', async () => {
  const [web, api] = [await freePort(), await freePort()];
  writeConfig(main, {
    ranges: { web: { start: web, end: web }, api: { start: api, end: api } },
    services: { web: { health: { type: 'tcp' } }, api: { health: { type: 'tcp', timeoutMs: 500 } } },
  });
  const allocated = await ports(main, registryFile, 'allocate', '--quiet');
  expect(allocated).toMatchObject({ code: 0, stdout: `${web}\n${api}\n` });

  // Only web runs, from inside the worktree; api is allocated but nothing listens.
  const webServer = await listenIn(main, { port: web });

  // status --check refreshes the stored status before printing it.
  const status = await ports(main, registryFile, 'status', '--check', '--json');
  expect(status.code).toBe(0);
  expect(new Map((JSON.parse(status.stdout) as { port: number; health_status: string }[]).map((a) => [a.port, a.health_status]))).toEqual(
    new Map([[web, 'healthy'], [api, 'not_running']]),
  );

  const health = await ports(main, registryFile, 'health', '--json');
  expect(health.code).toBe(4);
  const checked = JSON.parse(health.stdout) as { port: number; health_status: string; process_id: number | null }[];
  const byPort = (rows: { port: number; health_status: string; process_id: number | null }[]) => new Map(rows.map((r) => [r.port, [r.health_status, r.process_id]]));
  expect(byPort(checked)).toEqual(new Map([[web, ['healthy', webServer.child.pid]], [api, ['not_running', null]]]));
  expect(byPort(registry().allocations)).toEqual(byPort(checked));

  const check = await ports(main, registryFile, 'check');
  expect(check.code).toBe(4);
  expect(check.stdout).toContain(`✗ allocation mismatch  port ${api}`);
  expect(check.stdout).not.toContain(`port ${web}`);

  const subfolder = path.join(main, 'packages', 'api');
  fs.mkdirSync(subfolder, { recursive: true });
  await listenIn(subfolder, { port: api, host: '::' }); // a subfolder of the worktree is still the worktree

  expect(await ports(main, registryFile, 'health')).toMatchObject({ code: 0, stderr: expect.stringContaining('All 2 checked ports are healthy.') });
  expect(await ports(main, registryFile, 'check')).toMatchObject({ code: 0, stdout: '', stderr: expect.stringContaining('No conflicts') });
});

test('check: a port allocated twice and a port held by a foreign process; exit 4 with the fixes', async () => {
  const foreign = await listenIn(os.tmpdir());
  const shared = await freePort();
  fs.mkdirSync(path.dirname(registryFile), { recursive: true });
  const base = { allocated_by: 'dev@host', description: '', process_id: null, health_status: 'unknown' };
  fs.writeFileSync(
    registryFile,
    JSON.stringify({
      ranges: { web: { start: Math.min(shared, foreign.port), end: Math.max(shared, foreign.port), description: 'test web' } },
      allocations: [
        { ...base, port: shared, worktree: 'main', service: 'web', allocated_at: '2026-11-02T09:00:00Z', worktree_path: main },
        { ...base, port: shared, worktree: 'feat', service: 'web', allocated_at: '2026-11-23T09:00:00Z', worktree_path: feat },
        { ...base, port: foreign.port, worktree: 'review-GH-42', service: 'web', allocated_at: '2026-11-23T09:00:00Z' },
        { ...base, port: foreign.port, worktree: 'feat', service: 'web', allocated_at: '2026-11-24T09:00:00Z', worktree_path: feat },
      ],
      metadata: { version: '1.0.0', last_updated: '2026-11-24T10:00:00Z', total_allocations: 4, schema_version: 1 },
    }),
  );
  const text = await ports(feat, registryFile, 'check', '--ignore', 'allocation_mismatch,env_out_of_step');
  expect(text.code).toBe(4);
  expect(text.stdout).toContain(`✗ registry conflict  port ${shared}`);
  expect(text.stdout).toContain('main had it first');
  expect(text.stdout).toContain(`ports release --service web --cwd ${feat} && ports allocate web --cwd ${feat}`);
  expect(text.stdout).toContain(`✗ system conflict  port ${foreign.port}`);
  expect(text.stdout).toContain(`PID ${foreign.pid}`);
  expect(text.stdout).toContain(`running in ${fs.realpathSync(os.tmpdir())}`);

  const json = await ports(feat, registryFile, 'check', '--json');
  expect(json.code).toBe(4);
  const report = JSON.parse(json.stdout) as { ok: boolean; conflicts: { kind: string; ports: number[]; process: { pid: number } | null }[] };
  expect(report.ok).toBe(false);
  expect(report.conflicts.filter((c) => c.kind === 'registry_conflict').map((c) => c.ports)).toEqual([[shared], [foreign.port]]);
  expect(report.conflicts.find((c) => c.kind === 'system_conflict')?.process?.pid).toBe(foreign.pid);
});

test('which: owner, PID and cwd of a held port; exit 2 for a free one; exit 1 for a bad argument', async () => {
  const server = await startHttpServer('127.0.0.1');
  started.push(server);
  writeConfig(main, { ranges: { web: { start: server.port, end: server.port } } });
  fs.mkdirSync(path.dirname(registryFile), { recursive: true });
  const result = await ports(main, registryFile, 'which', String(server.port));
  expect(result.code).toBe(0);
  expect(result.stdout).toContain(`Port ${server.port}`);
  expect(result.stdout).toContain('registry:  not allocated (no registry)');
  expect(result.stdout).toContain(`listening: PID ${process.pid} `);
  expect(result.stdout).toContain(`cwd ${process.cwd()}`);
  await server.stop();
  const free = await ports(main, registryFile, 'which', String(server.port));
  expect(free.code).toBe(2);
  expect(free.stdout).toContain('is free');
  const bad = await ports(main, registryFile, 'which', 'http');
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('PORT must be a whole number');
});

test('health: bad --timeout is exit 1; no registry is exit 2 with a hint', async () => {
  expect(await ports(main, registryFile, 'health', '--timeout', 'soon')).toMatchObject({ code: 1, stderr: expect.stringContaining('--timeout must be a whole number') });
  const missing = await ports(main, registryFile, 'health');
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('ports init');
});
