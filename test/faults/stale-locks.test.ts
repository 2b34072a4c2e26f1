/**
 * Stale registry locks of every kind (format: src/io/lock.ts): the next `ports allocate` takes
 * them over at once. A lock of another host is honoured until it is older than the stale time;
 * the lock of a live process on this host is never taken (the control that shows the test can fail).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bootId, processStartTime } from '../../src/io/process-info';
import { leftovers, privateRangeConfig, readRegistry, runPorts, sleep, summary, tempDir } from '../helpers/faults';

let root: string;
const cleanups: (() => void)[] = [];
beforeAll(() => {
  root = tempDir('stale');
});
afterAll(() => {
  for (const c of cleanups) c();
  fs.rmSync(root, { recursive: true, force: true });
});

function pidNamespace(): string | null {
  try {
    return fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

function lockRecord(fields: Partial<Record<'pid' | 'host' | 'start_time' | 'boot_id' | 'pid_ns' | 'acquired_at', unknown>>): string {
  return JSON.stringify({
    pid: process.pid,
    host: os.hostname(),
    start_time: processStartTime(process.pid),
    boot_id: bootId(),
    pid_ns: pidNamespace(),
    token: crypto.randomBytes(16).toString('hex'),
    acquired_at: new Date().toISOString(),
    ...fields,
  });
}

/** The PID of a process that has exited and been reaped. */
function deadPid(): number {
  const child = spawnSync('sh', ['-c', 'echo $$']);
  const pid = Number(String(child.stdout).trim());
  expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
  return pid;
}

/** A zombie: `sh` execs into `sleep`, which never reaps the child `sh` started before. */
async function zombiePid(): Promise<number> {
  const parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  cleanups.push(() => parent.kill('SIGKILL'));
  const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
  for (let i = 0; i < 100; i++) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return pid;
    await sleep(20);
  }
  throw new Error(`process ${pid} did not become a zombie`);
}

/** A live process with a PID of its own (stands for a PID reused by another program). */
function liveOtherPid(): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  return child.pid as number;
}

interface Case {
  kind: string;
  lock: () => string | Promise<string>;
  /** Age to give the lock file's mtime, in ms. */
  ageMs?: number;
  env?: Record<string, string>;
  /** Default: taken over, the allocation succeeds. */
  expectKept?: boolean;
  /** The takeover must wait at least this long (the lock is not stale before). */
  minMs?: number;
}

const HOUR = 3_600_000;
const cases: Case[] = [
  { kind: 'dead PID', lock: () => lockRecord({ pid: deadPid() }) },
  { kind: 'zombie', lock: async () => lockRecord({ pid: await zombiePid() }) },
  { kind: 'reused PID (other start time)', lock: () => lockRecord({ pid: liveOtherPid(), start_time: '1' }) },
  { kind: 'reused PID (this very process, other start time)', lock: () => lockRecord({ start_time: '1' }) },
  { kind: 'other host past the stale time', lock: () => lockRecord({ host: 'build-agent-7.example', acquired_at: new Date(Date.now() - HOUR).toISOString() }), ageMs: HOUR },
  {
    kind: 'other host turning stale while waited for',
    lock: () => lockRecord({ host: 'build-agent-7.example', acquired_at: new Date(Date.now() - 1000).toISOString() }),
    ageMs: 1000,
    env: { PORTS_LOCK_STALE_MS: '2500', PORTS_LOCK_TIMEOUT_MS: '5000' },
    minMs: 1400,
  },
  { kind: 'taken before a reboot', lock: () => lockRecord({ boot_id: 'a-boot-before-this-one', acquired_at: new Date(Date.now() - os.uptime() * 1000 - HOUR).toISOString() }), ageMs: HOUR },
  { kind: 'garbage content', lock: () => 'garbage \u0000{"pid": oops' },
  { kind: 'JSON without the owner fields', lock: () => '{"pid": 1}' },
  { kind: 'empty file', lock: () => '' },
  {
    kind: 'other host within the stale time',
    lock: () => lockRecord({ host: 'build-agent-7.example' }),
    env: { PORTS_LOCK_TIMEOUT_MS: '400' },
    expectKept: true,
  },
  { kind: 'live process on this host', lock: () => lockRecord({}), env: { PORTS_LOCK_TIMEOUT_MS: '400' }, expectKept: true },
];

test('the next allocate takes over a stale lock of every kind at once, and keeps live or fresh foreign ones', async () => {
  const baselineDir = path.join(root, 'baseline');
  fs.mkdirSync(baselineDir);
  const baselineArgs = ['--registry', path.join(baselineDir, 'ports.json'), '--config', privateRangeConfig(baselineDir, 'svc', 27000, 27999)];
  const baseline = await runPorts(['allocate', 'svc', '--worktree', 'no-lock', '--quiet', ...baselineArgs], { cwd: baselineDir });
  expect(baseline.code).toBe(0);
  const timings: string[] = [];
  const problems: string[] = [];
  let recovered = 0;
  let kept = 0;
  let slowest = 0;
  for (const [index, c] of cases.entries()) {
    const dir = path.join(root, `case-${index}`);
    fs.mkdirSync(dir);
    const registry = path.join(dir, 'ports.json');
    const config = privateRangeConfig(dir, 'svc', 27000, 27999);
    const common = ['--registry', registry, '--config', config];
    expect((await runPorts(['init', ...common], { cwd: dir })).code).toBe(0);
    const lockFile = `${registry}.lock`;
    const content = await c.lock();
    fs.writeFileSync(lockFile, content);
    if (c.ageMs) {
      const then = new Date(Date.now() - c.ageMs);
      fs.utimesSync(lockFile, then, then);
    }
    const run = await runPorts(['allocate', 'svc', '--worktree', `stale-${index}`, '--quiet', ...common], {
      cwd: dir,
      // A stale lock must be taken over at once: 1 s from the first try, or exit 5 (start-up on a loaded machine does not count).
      env: c.env ?? { PORTS_LOCK_TIMEOUT_MS: '1000' },
    });
    timings.push(`${c.kind} ${Math.round(run.ms)} ms`);
    if (c.expectKept) {
      kept++;
      if (run.code !== 5) problems.push(`${c.kind}: expected exit 5, got ${run.code}: ${run.stderr.trim()}`);
      if (!/lock/.test(run.stderr) || !run.stderr.includes(lockFile)) problems.push(`${c.kind}: stderr does not name the lock: ${run.stderr.trim()}`);
      if (fs.readFileSync(lockFile, 'utf8') !== content) problems.push(`${c.kind}: the lock was taken from its holder`);
      expect(readRegistry(registry).allocations).toHaveLength(0);
      continue;
    }
    recovered++;
    if (!c.minMs) slowest = Math.max(slowest, run.ms);
    if (run.code !== 0) problems.push(`${c.kind}: exit ${run.code}: ${run.stderr.trim()}`);
    else if (!readRegistry(registry).allocations.some((a) => a.port === Number(run.stdout.trim()))) problems.push(`${c.kind}: the port is not in the registry`);
    if (run.ms >= Math.max(5000, 5 * baseline.ms) && !c.env) problems.push(`${c.kind}: took ${Math.round(run.ms)} ms`);
    if (c.minMs && run.ms < c.minMs) problems.push(`${c.kind}: taken over after ${Math.round(run.ms)} ms, before it was stale`);
    const left = leftovers(registry);
    if (left.length) problems.push(`${c.kind}: left ${left.join(', ')}`);
  }
  summary(`stale locks: ${recovered} kinds taken over by the next allocate (each within a 1 s lock timeout), slowest whole run ${Math.round(slowest)} ms (an allocate without any lock: ${Math.round(baseline.ms)} ms); ${kept} live/fresh locks kept (exit 5); ${timings.join(', ')}`);
  expect(problems).toEqual([]);
}, 60_000);
