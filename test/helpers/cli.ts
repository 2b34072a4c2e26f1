/**
 * The one way tests run the CLI: the built `bin/ports.js` as a real process (to the end, or
 * started and awaited), or `run()` of src/main in this process for tests that serve in-process.
 *
 * Every run gets an environment without GIT_* variables (git exports GIT_DIR and GIT_INDEX_FILE
 * inside hooks, and a test run from a hook must not be redirected), without inherited PORTS*,
 * and with PORTS_STATE_DIR in a temp folder of this test file, so nothing writes to the real
 * home (~/.local/state/ports). Repositories come from test/helpers/repo.ts.
 *
 * The process runs from a private copy of the built package (package.json, bin/, dist/ports.cjs,
 * dist/vendor/, hooks/) taken once per test file: other engineers rebuild dist/ in the same
 * checkout, and a rebuild swaps the folder out for a moment.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
/** The checkout's own bin (runs whatever dist/ holds right now); runs default to a private copy, see portsBin(). */
export const BIN = path.join(ROOT, 'bin', 'ports.js');

const tempRoots: string[] = [];

/** A canonical (realpath) temp folder, removed by `removeTempDirs()`. */
export function tempDir(prefix = 'ports-test-'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  tempRoots.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempRoots.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

let stateDir: string | undefined;
let snapshot: string | undefined;

// The state folder and the copy of the package live as long as the test file.
afterAll(() => {
  for (const dir of [stateDir, snapshot && path.dirname(path.dirname(snapshot))]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  stateDir = snapshot = undefined;
});

/**
 * The PORTS_STATE_DIR of every run of this test file: a fresh temp folder, never the real home.
 * Not in tempRoots, so `removeTempDirs()` between tests leaves it in place for the next run.
 */
export function testStateDir(): string {
  // The jest setup file (state-dir.js) made one for this file already; tests may read it from process.env.
  stateDir ??= process.env.PORTS_STATE_DIR ?? fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ports-state-')));
  return stateDir;
}

/** process.env without GIT_*, PORTS*, XDG_CONFIG_HOME; NO_COLOR; PORTS_STATE_DIR in a temp folder; HOME when given; `extra` on top. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}, home?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^(GIT_|PORTS)/i.test(key) && key !== 'XDG_CONFIG_HOME') env[key] = value;
  env.NO_COLOR = '1';
  env.PORTS_STATE_DIR = testStateDir();
  // A repository with its own HOME gets its own machine index too: its ports do not depend on other tests' repositories.
  if (home) Object.assign(env, { HOME: home, PORTS_STATE_DIR: path.join(home, '.local', 'state', 'ports') });
  return { ...env, ...extra };
}

export function git(args: string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv()): string {
  const result = spawnSync('git', args, { cwd, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${cwd}: ${result.stderr}`);
  return result.stdout;
}

/**
 * Copies the built CLI — bin/, dist/ports.cjs (+ its code cache), dist/vendor/, hooks/,
 * package.json — into `dir`, so a test runs a version no rebuild can change under it. Returns
 * the copied bin/ports.js. Waits up to a minute for a concurrent `npm run build`, which removes
 * dist/ for a few seconds.
 */
export function copyBuiltCli(dir: string): string {
  const bundle = path.join(ROOT, 'dist', 'ports.cjs');
  const deadline = Date.now() + 60_000;
  while (!fs.existsSync(bundle)) {
    if (Date.now() > deadline) throw new Error(`${bundle} is missing: run \`npm run build\` first (npm test does).`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
  for (const name of ['ports.cjs', 'ports.cjs.cache']) {
    if (fs.existsSync(path.join(ROOT, 'dist', name))) fs.copyFileSync(path.join(ROOT, 'dist', name), path.join(dir, 'dist', name));
  }
  for (const folder of ['dist/vendor', 'bin', 'hooks']) fs.cpSync(path.join(ROOT, folder), path.join(dir, folder), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  return path.join(dir, 'bin', 'ports.js');
}

/** `bin/ports.js` of this test file's private copy of the built package (PORTS_TEST_BIN points elsewhere). */
export function portsBin(): string {
  if (process.env.PORTS_TEST_BIN) return process.env.PORTS_TEST_BIN;
  snapshot ??= copyBuiltCli(fs.mkdtempSync(path.join(os.tmpdir(), 'ports-snapshot-')));
  return snapshot;
}

export interface RunResult {
  /** Exit code; -1 when the process ended by a signal (see `signal`). */
  code: number;
  /** Exit code as spawn reports it: null when the process ended by a signal. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time of the run (for summaries, never for assertions). */
  ms: number;
}

export interface RunOptions {
  cwd?: string;
  /** The whole environment; `cleanEnv()` when absent. */
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
  /** Another bin/ports.js (a copy elsewhere); `portsBin()` when absent. */
  bin?: string;
}

function result(status: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, started: bigint): RunResult {
  return { code: status ?? -1, status, signal, stdout, stderr, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

/** Runs `ports ARGS` to the end. */
export function runPorts(args: readonly string[], options: RunOptions = {}): RunResult {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [options.bin ?? portsBin(), ...args], {
    cwd: options.cwd ?? os.tmpdir(),
    env: options.env ?? cleanEnv(),
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error;
  return result(r.status, r.signal, r.stdout, r.stderr, started);
}

/** Starts `ports ARGS`; `result` settles when it exits (however it exits). */
export function spawnPorts(args: readonly string[], options: RunOptions = {}): { child: ChildProcess; result: Promise<RunResult> } {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [options.bin ?? portsBin(), ...args], {
    cwd: options.cwd ?? os.tmpdir(),
    env: options.env ?? cleanEnv(),
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    timeout: options.timeoutMs,
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<RunResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => resolve(result(status, signal, stdout, stderr, started)));
  });
  return { child, result: done };
}

/** runPorts without blocking the test: for several runs at once, or a server in this process that must keep answering. */
export function runPortsAsync(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return spawnPorts(args, options).result;
}

export interface InProcessRun {
  code: number;
  stdout: string;
  stderr: string;
  json<T = unknown>(): T;
}

/** `run()` of src/main in this process (the tool's servers and this test's share one event loop); stderr a TTY when `tty`. */
export async function runInProcess(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; tty?: boolean }): Promise<InProcessRun> {
  const { run } = await import('../../src/main');
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    stdout: { write: (chunk: string) => (stdout += chunk), isTTY: false },
    stderr: { write: (chunk: string) => (stderr += chunk), isTTY: options.tty === true },
    env: options.env ?? cleanEnv(),
    cwd: options.cwd,
  });
  return { code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T };
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

// The repository helper lives in repo.ts; these names stay for tests that import them from here.
export { makeConfigRepo as makeRepo, type TempRepo } from './repo';
