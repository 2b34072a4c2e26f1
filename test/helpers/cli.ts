/**
 * Real temp repositories and real runs of the built CLI. Every spawn gets an environment
 * without GIT_* variables (git exports GIT_DIR and GIT_INDEX_FILE inside hooks, and a test
 * run from a hook must not be redirected) and with a private HOME, so no user config leaks in.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'ports.js');

const tempRoots: string[] = [];

export function tempDir(prefix = 'ports-test-'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  tempRoots.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempRoots.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function cleanEnv(extra: NodeJS.ProcessEnv = {}, home?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^(GIT_|PORTS)/i.test(key) && key !== 'XDG_CONFIG_HOME') env[key] = value;
  env.NO_COLOR = '1';
  // A repository with its own HOME gets its own machine index too: its ports do not depend on other tests' repositories.
  if (home) Object.assign(env, { HOME: home, XDG_STATE_HOME: path.join(home, '.local', 'state') });
  return { ...env, ...extra };
}

export function git(args: string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv()): string {
  const result = spawnSync('git', args, { cwd, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${cwd}: ${result.stderr}`);
  return result.stdout;
}

export interface TempRepo {
  root: string;
  base: string;
  home: string;
  env: NodeJS.ProcessEnv;
  /** Creates a linked worktree next to the main one. */
  addWorktree(name: string, args?: string[]): string;
}

/** A real repository with one commit; `config` becomes its committed .portsrc.json. */
export function makeRepo(config?: unknown): TempRepo {
  const base = tempDir();
  const home = path.join(base, 'home');
  fs.mkdirSync(home);
  const env = cleanEnv({}, home);
  const root = path.join(base, 'repo');
  fs.mkdirSync(root);
  git(['init', '-q', '-b', 'main'], root, env);
  git(['config', 'user.email', 'test@example.com'], root, env);
  git(['config', 'user.name', 'Test'], root, env);
  if (config !== undefined) fs.writeFileSync(path.join(root, '.portsrc.json'), JSON.stringify(config, null, 2));
  fs.writeFileSync(path.join(root, 'README'), 'test\n');
  git(['add', '-A'], root, env);
  git(['commit', '-q', '-m', 'init'], root, env);
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

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runPorts(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; input?: string }): RunResult {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: options.cwd, env: options.env ?? cleanEnv(), encoding: 'utf8', input: options.input });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export function runPortsAsync(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: options.env ?? cleanEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * Ranges private to one test file. Below 32768, Linux's ephemeral range (32768-60999), where
 * every listen(0) and outgoing connection of a test running in parallel lands and would make a
 * port look busy.
 */
export function privateRanges(base: number): Record<string, { start: number; end: number; description: string }> {
  return {
    web: { start: base, end: base + 19, description: 'test web' },
    database: { start: base + 20, end: base + 27, description: 'test database' },
    api: { start: base + 30, end: base + 59, description: 'test api' },
    cache: { start: base + 60, end: base + 69, description: 'test cache' },
  };
}

export function readRegistry(root: string): { allocations: Array<Record<string, unknown> & { port: number; worktree: string; service: string }>; metadata: { total_allocations: number; last_updated: string } } {
  return JSON.parse(fs.readFileSync(path.join(root, 'design', 'worktrees', 'ports.json'), 'utf8'));
}

/**
 * Copies the built CLI — bin/, dist/ports.cjs (+ its code cache), dist/vendor/, hooks/,
 * package.json — into `dir`, so a test runs a version no rebuild can change under it. Returns
 * the copied bin/ports.js.
 */
export function copyBuiltCli(dir: string): string {
  const bundle = path.join(ROOT, 'dist', 'ports.cjs');
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run \`npm run build\` first (npm test does).`);
  fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
  for (const name of ['ports.cjs', 'ports.cjs.cache']) {
    if (fs.existsSync(path.join(ROOT, 'dist', name))) fs.copyFileSync(path.join(ROOT, 'dist', name), path.join(dir, 'dist', name));
  }
  for (const folder of ['dist/vendor', 'bin', 'hooks']) fs.cpSync(path.join(ROOT, folder), path.join(dir, folder), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  return path.join(dir, 'bin', 'ports.js');
}
