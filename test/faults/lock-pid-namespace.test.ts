/**
 * Locks across PID namespaces: a lock taken inside a sandbox on this machine (`unshare --pid
 * --fork --mount-proc`, as containers do) names a PID of that namespace. When its holder is
 * killed, the next command on the host takes the lock at once (within a 2 s lock timeout, far
 * under the 30 s stale time); while the holder lives, the lock is kept.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { privateRangeConfig, readRegistry, runPorts, tempDir } from '../helpers/faults';

const worker = path.join(__dirname, '../helpers/lock-worker.js');
const canUnshare = process.platform === 'linux' && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
if (!canUnshare) console.log('PID-namespace lock tests skipped: `unshare --pid --fork --mount-proc` is not permitted here (needs root or user namespaces)');
const withUnshare = canUnshare ? test : test.skip;

let dir: string;
let bundle: string;
const holders: ChildProcess[] = [];
beforeAll(() => {
  dir = tempDir('lock-ns');
  bundle = path.join(dir, 'lock-bundle.js');
  buildSync({
    stdin: { contents: "module.exports = { ...require('./src/io/lock.ts'), ...require('./src/io/atomic-write.ts') };", resolveDir: path.join(__dirname, '../..'), loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: bundle,
    logLevel: 'error',
  });
});
afterAll(() => {
  for (const h of holders) if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A lock holder in a new PID namespace; resolves once it holds the lock. `unshare --kill-child` takes the holder down with it. */
async function holdInNamespace(registry: string): Promise<ChildProcess> {
  const holder = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL', process.execPath, worker, bundle, 'hold', registry], { stdio: ['ignore', 'pipe', 'pipe'] });
  holders.push(holder);
  let stderr = '';
  holder.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.setEncoding('utf8').on('data', (d: string) => d.includes('acquired') && resolve());
    holder.once('exit', (code) => reject(new Error(`the holder exited ${code} before taking the lock: ${stderr}`)));
  });
  return holder;
}

async function setUp(name: string): Promise<{ registry: string; args: string[] }> {
  const caseDir = path.join(dir, name);
  fs.mkdirSync(caseDir);
  const registry = path.join(caseDir, 'ports.json');
  const args = ['--registry', registry, '--config', privateRangeConfig(caseDir, 'svc', 26300, 26399)];
  expect((await runPorts(['init', ...args], { cwd: caseDir })).code).toBe(0);
  return { registry, args };
}

withUnshare('the lock of a killed holder in another PID namespace is taken at once', async () => {
  const { registry, args } = await setUp('killed');
  const holder = await holdInNamespace(registry);
  const record = JSON.parse(fs.readFileSync(`${registry}.lock`, 'utf8')) as { pid: number; pid_ns: string };
  expect(record.pid).toBe(1); // the PID the holder saw: its namespace's init
  expect(record.pid_ns).not.toBe(fs.readlinkSync('/proc/self/ns/pid'));
  holder.kill('SIGKILL');
  await new Promise((resolve) => holder.once('exit', resolve));
  const run = await runPorts(['allocate', 'svc', '--worktree', 'after-ns', '--quiet', ...args], { cwd: path.dirname(registry), env: { PORTS_LOCK_TIMEOUT_MS: '2000' } });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(readRegistry(registry).allocations.map((a) => a.worktree)).toEqual(['after-ns']);
});

withUnshare('the lock of a live holder in another PID namespace is kept', async () => {
  const { registry, args } = await setUp('live');
  const holder = await holdInNamespace(registry);
  const before = fs.readFileSync(`${registry}.lock`, 'utf8');
  const run = await runPorts(['allocate', 'svc', '--worktree', 'blocked', '--quiet', ...args], { cwd: path.dirname(registry), env: { PORTS_LOCK_TIMEOUT_MS: '500' } });
  expect(run.code).toBe(5);
  expect(fs.readFileSync(`${registry}.lock`, 'utf8')).toBe(before);
  holder.kill('SIGKILL');
});
