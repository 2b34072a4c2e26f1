/**
 * The one way tests make repositories: real `git init` in temp folders, files committed, linked
 * worktrees next to the main one. `makeRepo` is the lifecycle form (a committed `.portsrc.json`
 * declaring four services on ranges private to the test); `makeConfigRepo` and
 * `makeRepoWithFiles` commit what the test passes; all three start from `initRepo`.
 *
 * Every spawn gets an environment without any `GIT_*` variable (inside a hook git exports
 * GIT_DIR and GIT_INDEX_FILE; a test started from a hook must not inherit them), without
 * `PORTS*` but with PORTS_STATE_DIR in a temp folder, and with HOME pointing at an empty temp
 * folder so no user or XDG git config leaks in; user.name/user.email are set in each temp
 * repo's own config. The CLI runs through test/helpers/cli.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import type { Allocation, Registry } from '../../src/core/registry-schema';
import { cleanEnv, copyBuiltCli, portsBin, removeTempDirs, runPorts, tempDir as sharedTempDir } from './cli';

export { portsBin } from './cli';

export const PACKAGE_ROOT = path.resolve(__dirname, '../..');

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A canonical (realpath) temp folder, removed by `cleanupTemps()`. */
export function tempDir(prefix = 'ports-lc-'): string {
  return sharedTempDir(prefix);
}

export const cleanupTemps = removeTempDirs;

let home: string | undefined;

/** The empty HOME every spawn gets (one per test file). */
export function testHome(): string {
  home ??= tempDir('ports-home-');
  return home;
}

let toolDir: string | undefined;

/**
 * A folder holding `worktree-ports`, a link to this file's copy of the built CLI: first on every
 * spawn's PATH, as a global install would be, so the hook (which looks in the main worktree's
 * node_modules, then on PATH) finds the tool in every temp repository.
 */
export function toolOnPath(): string {
  if (!toolDir) {
    toolDir = tempDir('ports-path-');
    fs.symlinkSync(portsBin(), path.join(toolDir, 'worktree-ports'));
  }
  return toolDir;
}

/** process.env without GIT_*, PORTS*, XDG_CONFIG_HOME; HOME is a temp folder; the tool on PATH; `extra` on top (undefined deletes). */
export function testEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env = cleanEnv({}, testHome());
  env.PATH = `${toolOnPath()}${path.delimiter}${env.PATH ?? ''}`;
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs `command` to the end in the test environment; returns status and output without throwing. */
function runSync(command: string, args: readonly string[], cwd: string, extraEnv: Record<string, string | undefined>): Run {
  const r = spawnSync(command, args, { cwd, env: testEnv(extraEnv), encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** stdout of a run that had to succeed; throws with its stderr otherwise. */
function stdoutOf(label: string, args: readonly string[], cwd: string, r: Run): string {
  if (r.status !== 0) throw new Error(`${label} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

/** Runs git; returns status and output without throwing. */
export function gitRun(args: readonly string[], cwd: string, extraEnv: Record<string, string | undefined> = {}): Run {
  return runSync('git', args, cwd, extraEnv);
}

/** Runs git and returns stdout; throws with git's stderr when it fails. */
export function git(args: readonly string[], cwd: string, extraEnv: Record<string, string | undefined> = {}): string {
  return stdoutOf('git', args, cwd, gitRun(args, cwd, extraEnv));
}

/** Spawns without waiting: for things that must start at the same moment (parallel `git worktree add`). */
export function spawnRun(command: string, args: readonly string[], cwd: string, extraEnv: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: testEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * A copy of the built package (see copyBuiltCli) in a temp folder; returns the folder.
 */
export function copyPackage(prefix = 'ports-pkg-'): string {
  const dir = tempDir(prefix);
  copyBuiltCli(dir);
  return dir;
}

/** Runs `ports ARGS` (the built CLI, test/helpers/cli.ts) in `cwd`. */
export function ports(args: readonly string[], cwd: string, extraEnv: Record<string, string | undefined> = {}, bin = portsBin()): Run {
  return runPorts(args, { cwd, env: testEnv(extraEnv), bin });
}

/** Runs `ports ARGS` and returns stdout; throws with stderr unless it exits 0. */
export function portsOk(args: readonly string[], cwd: string, extraEnv: Record<string, string | undefined> = {}): string {
  return stdoutOf('ports', args, cwd, ports(args, cwd, extraEnv));
}

export interface ServiceSpec {
  name: string;
  env: string;
  start: number;
  end: number;
}

/** The four services every temp repo declares, on ranges no real service on the machine uses. */
export function servicesFrom(base: number): ServiceSpec[] {
  return [
    { name: 'web', env: 'PORT_WEB', start: base, end: base + 99 },
    { name: 'api', env: 'API_PORT', start: base + 100, end: base + 199 },
    { name: 'database', env: 'PORT_DATABASE', start: base + 200, end: base + 299 },
    { name: 'cache', env: 'PORT_CACHE', start: base + 300, end: base + 399 },
  ];
}

export function portsrcFor(services: readonly ServiceSpec[]): object {
  return {
    ranges: Object.fromEntries(services.map((s) => [s.name, { start: s.start, end: s.end, description: `test ${s.name}` }])),
    services: Object.fromEntries(services.map((s) => [s.name, s.env === `PORT_${s.name.toUpperCase()}` ? true : { env: s.env, description: `${s.name} of the test` }])),
  };
}

export interface MakeRepoOptions {
  /** First port of the four private ranges (web, api, database, cache take 100 each). */
  base?: number;
  /** A package.json for the main worktree (committed with the config). */
  packageJson?: object;
  /** Folder name of the main worktree. */
  name?: string;
}

export interface Repo {
  /** Temp folder holding the main worktree and the linked ones. */
  root: string;
  main: string;
  services: ServiceSpec[];
  registryFile: string;
  /** Path for a linked worktree named `name` (a sibling of main). */
  wt(name: string): string;
  registryText(): string;
  registry(): Registry;
  /** Allocations whose worktree_path is `dir`. */
  allocationsOf(dir: string): Allocation[];
  /** The worktree's .env parsed by dotenv, or null when there is none. */
  envOf(dir: string): Record<string, string> | null;
  /** Linked worktree paths git lists (not the main one). */
  listed(): string[];
}

/**
 * `<tmp>/<name>` (a canonical temp folder) with `git init -b main`, the test identity, and
 * `files` (path → text) committed; an empty commit when there are none. Returns both folders.
 */
export function initRepo(options: { name?: string; files?: Record<string, string>; prefix?: string } = {}): { root: string; main: string } {
  const root = tempDir(options.prefix ?? 'ports-repo-');
  const main = path.join(root, options.name ?? 'main');
  fs.mkdirSync(main);
  const run = (args: string[]) => git(args, main);
  run(['init', '-q', '-b', 'main']);
  run(['config', 'user.name', 'Ports Test']);
  run(['config', 'user.email', 'ports-test@example.invalid']);
  const files = Object.entries(options.files ?? {});
  for (const [file, text] of files) {
    fs.mkdirSync(path.dirname(path.join(main, file)), { recursive: true });
    fs.writeFileSync(path.join(main, file), text);
  }
  if (files.length) run(['add', '--', ...files.map(([file]) => file)]);
  run(['commit', '-q', '--allow-empty', '-m', 'initial']);
  return { root, main };
}

/** `git init` + a committed `.portsrc.json` (and README) in `<tmp>/main`; nothing installed yet. */
export function makeRepo(options: MakeRepoOptions = {}): Repo {
  const services = servicesFrom(options.base ?? 22100);
  const files: Record<string, string> = {
    '.portsrc.json': JSON.stringify(portsrcFor(services), null, 2) + '\n',
    'README.md': '# test repo\n',
  };
  if (options.packageJson) files['package.json'] = JSON.stringify(options.packageJson, null, 2) + '\n';
  const { root, main } = initRepo({ name: options.name, files });
  const registryFile = path.join(main, 'design', 'worktrees', 'ports.json');
  const repo: Repo = {
    root,
    main,
    services,
    registryFile,
    wt: (name) => path.join(root, name),
    registryText: () => fs.readFileSync(registryFile, 'utf8'),
    registry: () => JSON.parse(fs.readFileSync(registryFile, 'utf8')) as Registry,
    allocationsOf: (dir) => (fs.existsSync(registryFile) ? repo.registry().allocations.filter((a) => a.worktree_path === dir) : []),
    envOf: (dir) => {
      const file = path.join(dir, '.env');
      return fs.existsSync(file) ? parseDotenv(fs.readFileSync(file)) : null;
    },
    listed: () =>
      git(['worktree', 'list', '--porcelain'], main)
        .split('\n')
        .filter((l) => l.startsWith('worktree '))
        .map((l) => l.slice(9))
        .filter((p) => p !== main),
  };
  return repo;
}

/** makeRepo + `ports install` in the main worktree. */
export function makeInstalledRepo(options: MakeRepoOptions = {}): Repo {
  const repo = makeRepo(options);
  portsOk(['install'], repo.main);
  return repo;
}

/**
 * What "registry and .env agree" means for a worktree: every declared service allocated exactly
 * once for its path, each port inside its private range, and the .env (parsed by dotenv) holding
 * exactly those ports under the configured names plus COMPOSE_PROJECT_NAME (and the user's own
 * `userKeys`). Returns the ports by service name.
 */
export function expectAgreement(repo: Repo, dir: string, userKeys: readonly string[] = []): Record<string, number> {
  const held = repo.allocationsOf(dir);
  expect(held.map((a) => a.service).sort()).toEqual(repo.services.map((s) => s.name).sort());
  const byService: Record<string, number> = {};
  for (const s of repo.services) {
    const a = held.find((x) => x.service === s.name)!;
    expect(a.port).toBeGreaterThanOrEqual(s.start);
    expect(a.port).toBeLessThanOrEqual(s.end);
    expect(a.worktree).toBe(path.basename(dir));
    byService[s.name] = a.port;
  }
  const env = repo.envOf(dir);
  expect(env).not.toBeNull();
  const expected: Record<string, string> = Object.fromEntries(repo.services.map((s) => [s.env, String(byService[s.name])]));
  const { COMPOSE_PROJECT_NAME: project, ...portsVars } = env!;
  for (const key of userKeys) delete portsVars[key];
  expect(portsVars).toEqual(expected);
  expect(project).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
  return byService;
}

/** Every port of the registry appears once. */
export function expectDistinctPorts(registry: Registry): void {
  const portsList = registry.allocations.map((a) => a.port);
  expect(new Set(portsList).size).toBe(portsList.length);
}

export interface TempRepo {
  /** The main worktree. */
  root: string;
  /** Temp folder holding the main worktree (`repo`), `home` and the linked worktrees. */
  base: string;
  home: string;
  env: NodeJS.ProcessEnv;
  /** Creates a linked worktree next to the main one. */
  addWorktree(name: string, args?: string[]): string;
}

/** A real repository with one commit; `config` becomes its committed .portsrc.json. */
export function makeConfigRepo(config?: unknown): TempRepo {
  const files: Record<string, string> = { README: 'test\n' };
  if (config !== undefined) files['.portsrc.json'] = JSON.stringify(config, null, 2);
  const { root: base, main: root } = initRepo({ name: 'repo', files, prefix: 'ports-test-' });
  const home = path.join(base, 'home');
  fs.mkdirSync(home);
  const env = cleanEnv({}, home);
  return {
    root,
    base,
    home,
    env,
    addWorktree(name, args = []) {
      const dir = path.join(base, name);
      git(['worktree', 'add', '-q', ...args, dir], root, env);
      return dir;
    },
  };
}

export interface TestRepo {
  /** Temp folder holding the main worktree and the linked ones. */
  dir: string;
  main: string;
  /** A linked worktree `<dir>/<name>` on a new branch `name`. */
  addWorktree(name: string): string;
  cleanup(): void;
}

/** A real repository `<tmp>/<name>` with `files` committed; linked worktrees go next to it. */
export function makeRepoWithFiles(name: string, files: Record<string, string>): TestRepo {
  const { root: dir, main } = initRepo({ name, files, prefix: 'ports-compose-' });
  return {
    dir,
    main,
    addWorktree(wt: string) {
      git(['worktree', 'add', '-q', '-b', wt, path.join(dir, wt)], main);
      return path.join(dir, wt);
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
