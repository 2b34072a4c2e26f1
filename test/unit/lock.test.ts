import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { LockTimeoutError } from '../../src/errors';
import { writeFileAtomic } from '../../src/io/atomic-write';
import { acquireLock, cleanupTempFiles, inspectLock, instanceKey, removeStaleLock, withLock } from '../../src/io/lock';
import { parseRecord } from '../../src/io/lock-owner';
import { bootId, processStartTime } from '../../src/io/process-info';

let dir: string;
let registry: string;
let lockFile: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-lock-'));
  registry = path.join(dir, 'ports.json');
  lockFile = `${registry}.lock`;
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

function lockRecord(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    pid: process.pid,
    host: os.hostname(),
    start_time: processStartTime(process.pid),
    boot_id: bootId(),
    token: crypto.randomBytes(16).toString('hex'),
    acquired_at: new Date().toISOString(),
    ...overrides,
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function liveChild(): Promise<{ pid: number; startTime: string }> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve) => child.once('spawn', resolve));
  return { pid: child.pid!, startTime: processStartTime(child.pid!)! };
}

async function deadProcess(): Promise<{ pid: number; startTime: string }> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  const startTime = processStartTime(child.pid!)!;
  child.kill('SIGKILL');
  await exited(child);
  return { pid: child.pid!, startTime };
}

/**
 * A short `sleep` becomes a zombie: its parent shell is replaced by a `sleep 30` that never reaps
 * it. It must outlive the shell's exec: a `sleep 0` could exit first and be reaped by the shell
 * (seen once in CI), leaving no process at all.
 */
async function zombieProcess(): Promise<{ pid: number; startTime: string }> {
  const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(parent);
  const pid = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (chunk) => resolve(String(chunk)))));
  const startTime = processStartTime(pid)!;
  await waitFor(() => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false);
  return { pid, startTime };
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Acquires the lock someone else's file stands in for, and tells whether that file was taken
 * over at once: judged stale the first time it was looked at, so never waited on as a live holder.
 * The timeout is generous, so a loaded machine cannot fail it; waiting shows in `waitedOnHolder`.
 */
async function takeOver(): Promise<{ waitedOnHolder: boolean }> {
  const waits: string[] = [];
  const lock = await acquireLock(registry, { timeoutMs: 20_000, onWait: (holder) => waits.push(holder) });
  expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
  lock.release();
  return { waitedOnHolder: waits.length > 0 };
}

/** Counts the polls of the lock file (each poll stats it once) from now until `stop()`. */
function countLockPolls(): { count(): number; stop(): void } {
  // The module object itself: this file's `import * as fs` is a read-only view of it.
  const nodeFs = jest.requireActual<typeof fs>('node:fs');
  const statSync = nodeFs.statSync;
  let polls = 0;
  const spy = jest.spyOn(nodeFs, 'statSync').mockImplementation(((file: fs.PathLike, options?: fs.StatSyncOptions) => {
    if (file === lockFile) polls++;
    return statSync(file, options);
  }) as typeof fs.statSync);
  return { count: () => polls, stop: () => spy.mockRestore() };
}

function backdate(file: string, ms: number): void {
  const then = new Date(Date.now() - ms);
  fs.utimesSync(file, then, then);
}

describe('acquireLock', () => {
  test('creates the lock file with its owner and removes it on release; a second release is a no-op', async () => {
    const lock = await acquireLock(registry);
    expect(lock.file).toBe(lockFile);
    const record = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
    expect(record).toMatchObject({ pid: process.pid, host: os.hostname(), boot_id: bootId() });
    expect(record.token).toMatch(/^[0-9a-f]{32}$/);
    lock.release();
    expect(fs.existsSync(lockFile)).toBe(false);
    fs.writeFileSync(lockFile, lockRecord());
    lock.release();
    expect(fs.existsSync(lockFile)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['ports.json.lock']);
  });

  test('a second acquirer waits until the holder releases', async () => {
    const first = await acquireLock(registry);
    let secondAcquired = false;
    const waits: string[] = [];
    const second = acquireLock(registry, { onWait: (holder) => waits.push(holder) }).then((lock) => {
      secondAcquired = true;
      return lock;
    });
    await waitFor(() => waits.length > 0);
    expect(secondAcquired).toBe(false);
    expect(waits).toEqual([expect.stringContaining(`pid ${process.pid}`)]);
    first.release();
    (await second).release();
    expect(secondAcquired).toBe(true);
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  test('withLock releases the lock when the function throws', async () => {
    await expect(withLock(registry, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(fs.existsSync(lockFile)).toBe(false);
    await expect(withLock(registry, () => 42)).resolves.toBe(42);
  });

  test('gives up with LockTimeoutError (exit code 5) naming the holder', async () => {
    const holder = await liveChild();
    fs.writeFileSync(lockFile, lockRecord({ pid: holder.pid, start_time: holder.startTime }));
    const error = await acquireLock(registry, { timeoutMs: 150 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as LockTimeoutError).exitCode).toBe(5);
    expect((error as Error).message).toContain(`pid ${holder.pid}`);
    // It gave up only once the timeout had passed (the tool's own count of what it waited).
    expect(Number(/Timed out after (\d+) ms/.exec((error as Error).message)?.[1])).toBeGreaterThanOrEqual(150);
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid).toBe(holder.pid);
  });

  test('takes the timeout from PORTS_LOCK_TIMEOUT_MS', async () => {
    fs.writeFileSync(lockFile, lockRecord());
    process.env.PORTS_LOCK_TIMEOUT_MS = '50';
    try {
      await expect(acquireLock(registry)).rejects.toBeInstanceOf(LockTimeoutError);
    } finally {
      delete process.env.PORTS_LOCK_TIMEOUT_MS;
    }
  });
});

describe('stale locks', () => {
  test.each([
    ['empty', ''],
    ['not JSON', '{"pid": 12'],
    ['JSON without an owner', '{"hello": "world"}'],
  ])('takes over a lock with garbage content (%s)', async (_kind, content) => {
    fs.writeFileSync(lockFile, content);
    expect(await takeOver()).toEqual({ waitedOnHolder: false });
  });

  test('takes over the lock of a killed process at once', async () => {
    const dead = await deadProcess();
    fs.writeFileSync(lockFile, lockRecord({ pid: dead.pid, start_time: dead.startTime }));
    expect(inspectLock(registry)).toMatchObject({ state: 'stale', reason: `process ${dead.pid} is not running` });
    expect(await takeOver()).toEqual({ waitedOnHolder: false });
  });

  test('a waiter that found the holder alive takes over soon after the holder is killed', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('spawn', resolve));
    fs.writeFileSync(lockFile, lockRecord({ pid: child.pid, start_time: processStartTime(child.pid!) }));
    const waits: string[] = [];
    let acquired = false;
    const polls = countLockPolls();
    try {
      const waiting = acquireLock(registry, { timeoutMs: 20_000, onWait: (holder) => waits.push(holder) }).then((lock) => {
        acquired = true;
        return lock;
      });
      // Found alive, then polled again while trusting that verdict (polls that only stat the file).
      await waitFor(() => waits.length > 0);
      const pollsWhenJudged = polls.count();
      await waitFor(() => polls.count() > pollsWhenJudged + 2);
      expect(acquired).toBe(false);
      expect(waits).toEqual([expect.stringContaining(`pid ${child.pid}`)]);
      child.kill('SIGKILL');
      await exited(child);
      (await waiting).release();
      // Re-judged once the trusted verdict ran out, long before the timeout: it waited on that one holder only.
      expect(acquired).toBe(true);
      expect(waits).toHaveLength(1);
    } finally {
      polls.stop();
    }
  });

  test('takes over the lock of a zombie process', async () => {
    const zombie = await zombieProcess();
    fs.writeFileSync(lockFile, lockRecord({ pid: zombie.pid, start_time: zombie.startTime }));
    expect(inspectLock(registry)).toMatchObject({ state: 'stale', reason: expect.stringContaining('zombie') });
    expect(await takeOver()).toEqual({ waitedOnHolder: false });
  });

  test('takes over a lock whose PID now belongs to another process', async () => {
    const other = await liveChild();
    fs.writeFileSync(lockFile, lockRecord({ pid: other.pid, start_time: `${Number(other.startTime) - 1}` }));
    expect(inspectLock(registry)).toMatchObject({ state: 'stale', reason: `PID ${other.pid} now belongs to another process` });
    expect(await takeOver()).toEqual({ waitedOnHolder: false });
  });

  test('takes over a lock taken before the last reboot, even if its PID is alive now', async () => {
    fs.writeFileSync(lockFile, lockRecord({ boot_id: 'a-previous-boot', acquired_at: '2000-01-01T00:00:00.000Z' }));
    expect(inspectLock(registry)).toMatchObject({ state: 'stale', reason: 'it was taken before the machine rebooted' });
    expect(await takeOver()).toEqual({ waitedOnHolder: false });
  });

  test('treats a lock with another boot id taken after our boot as another machine of the same name', async () => {
    fs.writeFileSync(lockFile, lockRecord({ pid: 999_999, boot_id: 'another-machine' }));
    await expect(acquireLock(registry, { timeoutMs: 100 })).rejects.toBeInstanceOf(LockTimeoutError);
  });

  test('keeps the lock of another host until it is older than staleMs, then takes it over', async () => {
    fs.writeFileSync(lockFile, lockRecord({ host: 'elsewhere.example', pid: 999_999 }));
    expect(inspectLock(registry)).toMatchObject({ state: 'held', holder: { pid: 999_999, host: 'elsewhere.example' } });
    await expect(acquireLock(registry, { timeoutMs: 100, staleMs: 30_000 })).rejects.toBeInstanceOf(LockTimeoutError);

    fs.writeFileSync(lockFile, lockRecord({ host: 'elsewhere.example', pid: 999_999, acquired_at: new Date(Date.now() - 31_000).toISOString() }));
    backdate(lockFile, 31_000);
    expect(inspectLock(registry).state).toBe('stale');
    expect(await takeOver()).toEqual({ waitedOnHolder: false });
  });

  test('takes staleMs for other hosts from PORTS_LOCK_STALE_MS', async () => {
    fs.writeFileSync(lockFile, lockRecord({ host: 'elsewhere.example', acquired_at: new Date(Date.now() - 5000).toISOString() }));
    backdate(lockFile, 5000);
    process.env.PORTS_LOCK_STALE_MS = '1000';
    try {
      expect(await takeOver()).toEqual({ waitedOnHolder: false });
    } finally {
      delete process.env.PORTS_LOCK_STALE_MS;
    }
  });

  test('takes over at once a holder of another PID namespace of this machine that no process in /proc matches', async () => {
    fs.writeFileSync(lockFile, lockRecord({ pid: 999_999, pid_ns: 'pid:[1]' }));
    expect(await takeOver()).toEqual({ waitedOnHolder: false });
  });

  test('treats a holder in another PID namespace of another boot of this hostname like another host', async () => {
    fs.writeFileSync(lockFile, lockRecord({ pid: 999_999, pid_ns: 'pid:[1]', boot_id: 'another-boot', acquired_at: new Date().toISOString() }));
    await expect(acquireLock(registry, { timeoutMs: 100 })).rejects.toBeInstanceOf(LockTimeoutError);
  });

  test('never robs a live holder, however old its lock and however small staleMs', async () => {
    const holder = await liveChild();
    fs.writeFileSync(lockFile, lockRecord({ pid: holder.pid, start_time: holder.startTime, acquired_at: '2020-01-01T00:00:00.000Z' }));
    backdate(lockFile, 3_600_000);
    await expect(acquireLock(registry, { timeoutMs: 200, staleMs: 1 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid).toBe(holder.pid);
  });

  test('recovers when the process that was breaking the stale lock was killed holding the breaker', async () => {
    const dead = await deadProcess();
    fs.writeFileSync(lockFile, lockRecord({ pid: dead.pid, start_time: dead.startTime }));
    // The breaker's name is derived from the lock instance it breaks (its token here).
    const content = fs.readFileSync(lockFile, 'utf8');
    const key = instanceKey(fs.statSync(lockFile, { bigint: true }).ino, content, parseRecord(content));
    expect(key).toBe(JSON.parse(content).token);
    const breaker = `${lockFile}.break-${key}`;
    fs.writeFileSync(breaker, lockRecord({ pid: dead.pid, start_time: dead.startTime }));
    expect(await takeOver()).toEqual({ waitedOnHolder: false });
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('inspectLock and removeStaleLock', () => {
  test('report a free lock and remove nothing', () => {
    expect(inspectLock(registry)).toEqual({ file: lockFile, state: 'free' });
    expect(removeStaleLock(registry)).toBe(false);
  });

  test('leave a live holder in place', async () => {
    const lock = await acquireLock(registry);
    expect(inspectLock(registry)).toMatchObject({ state: 'held', holder: { pid: process.pid }, reason: `process ${process.pid} is running` });
    expect(removeStaleLock(registry)).toBe(false);
    expect(fs.existsSync(lockFile)).toBe(true);
    lock.release();
  });

  test('remove a stale lock and nothing else', async () => {
    const dead = await deadProcess();
    fs.writeFileSync(lockFile, lockRecord({ pid: dead.pid, start_time: dead.startTime }));
    expect(removeStaleLock(registry)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('cleanupTempFiles', () => {
  test('removes the temp files and breakers of dead processes only', async () => {
    const dead = await deadProcess();
    const deadTemps = [`ports.json.${dead.pid}.abc123.tmp`, `ports.json.lock.${dead.pid}.0f0f0f.tmp`, `ports.json.lock.break-0123456789abcdef.${dead.pid}.aa.tmp`];
    const liveTemps = [`ports.json.${process.pid}.abc123.tmp`, `ports.json.lock.${process.pid}.0f0f0f.tmp`];
    const unrelated = ['ports.json', `other.json.${dead.pid}.abc123.tmp`, 'ports.json.bak', `ports.json.${dead.pid}.tmp`];
    const deadBreaker = 'ports.json.lock.break-0123456789abcdef';
    const liveBreaker = 'ports.json.lock.break-fedcba9876543210';
    for (const name of [...deadTemps, ...liveTemps, ...unrelated]) fs.writeFileSync(path.join(dir, name), 'x');
    fs.writeFileSync(path.join(dir, deadBreaker), lockRecord({ pid: dead.pid, start_time: dead.startTime }));
    fs.writeFileSync(path.join(dir, liveBreaker), lockRecord());

    const removed = cleanupTempFiles(registry);

    expect(removed.map((file) => path.basename(file)).sort()).toEqual([...deadTemps, deadBreaker].sort());
    expect(fs.readdirSync(dir).sort()).toEqual([...liveTemps, ...unrelated, liveBreaker].sort());
  });

  test('returns nothing for a folder that does not exist', () => {
    expect(cleanupTempFiles(path.join(dir, 'missing', 'ports.json'))).toEqual([]);
  });
});

describe('writeFileAtomic', () => {
  test('replaces the content and keeps the existing mode', () => {
    fs.writeFileSync(registry, 'old', { mode: 0o600 });
    fs.chmodSync(registry, 0o600);
    writeFileAtomic(registry, 'new');
    expect(fs.readFileSync(registry, 'utf8')).toBe('new');
    expect(fs.statSync(registry).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['ports.json']);
  });

  test('applies an explicit mode despite the umask', () => {
    writeFileAtomic(registry, 'x', { mode: 0o664 });
    expect(fs.statSync(registry).mode & 0o777).toBe(0o664);
  });

  test('writes through a symlink to its target', () => {
    const target = path.join(dir, 'real.json');
    fs.writeFileSync(target, 'old');
    fs.symlinkSync(target, registry);
    writeFileAtomic(registry, 'new');
    expect(fs.lstatSync(registry).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(target, 'utf8')).toBe('new');
  });

  test('on failure leaves the original untouched and no temp file behind', () => {
    const target = path.join(dir, 'occupied');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'keep'), 'x');
    expect(() => writeFileAtomic(target, 'data')).toThrow();
    expect(fs.readdirSync(dir)).toEqual(['occupied']);
    expect(fs.readdirSync(target)).toEqual(['keep']);
  });

  test('a reader in another process never sees a half-written file, even when the writer is killed', async () => {
    const bundle = path.join(dir, 'atomic-write.js');
    buildSync({ entryPoints: [path.join(__dirname, '../../src/io/atomic-write.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'error' });
    const size = 4 * 1024 * 1024;
    writeFileAtomic(registry, 'a'.repeat(size));
    const script = `const { writeFileAtomic } = require(${JSON.stringify(bundle)});
      for (let i = 0; ; i++) writeFileAtomic(${JSON.stringify(registry)}, (i % 2 ? 'a' : 'b').repeat(${size}));`;
    const writer = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    children.push(writer);
    // Read until the writer has been seen replacing the file several times (each read whole).
    let reads = 0;
    let changes = 0;
    let last = fs.readFileSync(registry, 'utf8');
    while (changes < 4) {
      if (++reads > 100_000) throw new Error(`the writer replaced the file only ${changes} times in ${reads} reads`);
      const content = fs.readFileSync(registry, 'utf8');
      expect(content.length).toBe(size);
      expect(content === 'a'.repeat(size) || content === 'b'.repeat(size)).toBe(true);
      if (content !== last) changes++;
      last = content;
    }
    writer.kill('SIGKILL');
    await exited(writer);
    const content = fs.readFileSync(registry, 'utf8');
    expect(content === 'a'.repeat(size) || content === 'b'.repeat(size)).toBe(true);
    expect(changes).toBe(4);
    cleanupTempFiles(registry);
    expect(fs.readdirSync(dir).sort()).toEqual(['atomic-write.js', 'ports.json']);
  });
});
