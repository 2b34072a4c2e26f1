import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { acquireLock, cleanupTempFiles } from '../../src/io/lock';
import { bootId, processStartTime } from '../../src/io/process-info';

const worker = path.join(__dirname, '../helpers/lock-worker.js');
let dir: string;
let bundle: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-lock-race-'));
  bundle = path.join(dir, 'lock-bundle.js');
  buildSync({
    stdin: {
      contents: "module.exports = { ...require('./src/io/lock.ts'), ...require('./src/io/atomic-write.ts') };",
      resolveDir: path.join(__dirname, '../..'),
      loader: 'js',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: bundle,
    logLevel: 'error',
  });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type WorkerMessage = { ready?: number; acquired?: number; done?: number; error?: string };

/** Long-lived workers, so that a hundred trials do not cost twelve hundred Node start-ups. */
class WorkerPool {
  readonly workers: ChildProcess[];
  private readonly ready: Promise<unknown>;

  constructor(size: number) {
    this.workers = Array.from({ length: size }, () => fork(worker, [bundle], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    this.ready = Promise.all(this.workers.map((child) => this.next(child, 'ready')));
  }

  whenReady(): Promise<unknown> {
    return this.ready;
  }

  next(child: ChildProcess, kind: keyof WorkerMessage): Promise<WorkerMessage> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: WorkerMessage) => {
        if (message.error) reject(new Error(message.error));
        else if (message[kind] !== undefined) {
          child.off('message', onMessage);
          resolve(message);
        }
      };
      child.on('message', onMessage);
    });
  }

  /** Kills a worker with SIGKILL and puts a fresh one in its place. */
  async killAndReplace(index: number, killedAt: Map<number, number>): Promise<void> {
    const victim = this.workers[index]!;
    const gone = new Promise((resolve) => victim.once('exit', resolve));
    killedAt.set(victim.pid!, Date.now());
    victim.kill('SIGKILL');
    await gone;
    const fresh = fork(worker, [bundle], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.workers[index] = fresh;
    await this.next(fresh, 'ready');
  }

  close(): void {
    for (const child of this.workers) child.kill('SIGKILL');
  }
}

interface LogEntry {
  event: 'enter' | 'exit';
  pid: number;
  at: number;
}

function readLog(log: string): LogEntry[] {
  return fs
    .readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [event, pid, at] = line.split(' ');
      return { event: event as LogEntry['event'], pid: Number(pid), at: Number(at) };
    });
}

/**
 * Counts the times someone entered while another was still inside. A holder killed with SIGKILL
 * leaves no exit: an entry after the kill was sent may be legitimate, one before it is not.
 */
function countDoubleHolders(entries: LogEntry[], killedAt: ReadonlyMap<number, number> = new Map()): number {
  let inside: number | null = null;
  let doubles = 0;
  for (const entry of entries) {
    if (entry.event === 'enter') {
      if (inside !== null && entry.at < (killedAt.get(inside) ?? Infinity)) doubles++;
      inside = entry.pid;
    } else if (inside === entry.pid) {
      inside = null;
    }
  }
  return doubles;
}

async function deadProcess(): Promise<{ pid: number; startTime: string }> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  const startTime = processStartTime(child.pid!)!;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return { pid: child.pid!, startTime };
}

function staleLockRecord(dead: { pid: number; startTime: string }): string {
  return JSON.stringify({
    pid: dead.pid,
    host: os.hostname(),
    start_time: dead.startTime,
    boot_id: bootId(),
    token: crypto.randomBytes(16).toString('hex'),
    acquired_at: new Date().toISOString(),
  });
}

test('12 processes racing to take over one stale lock never hold it together (100 trials)', async () => {
  const trials = 100;
  const pool = new WorkerPool(12);
  try {
    await pool.whenReady();
    const registry = path.join(dir, 'race', 'ports.json');
    const log = path.join(dir, 'race.log');
    fs.mkdirSync(path.dirname(registry));
    const dead = await deadProcess();
    for (let trial = 0; trial < trials; trial++) {
      fs.writeFileSync(`${registry}.lock`, staleLockRecord(dead));
      // A common start time makes all twelve find the stale lock at once.
      const startAt = Date.now() + 20;
      const done = pool.workers.map((child) => pool.next(child, 'done'));
      for (const child of pool.workers) child.send({ registry, log, holdMs: 1, startAt });
      await Promise.all(done);
    }
    const entries = readLog(log);
    const doubles = countDoubleHolders(entries);
    console.log(`lock takeover race: ${trials} trials, ${doubles} double holders`);
    expect(entries.filter((entry) => entry.event === 'enter')).toHaveLength(trials * 12);
    expect(doubles).toBe(0);
    expect(fs.readdirSync(path.dirname(registry))).toEqual([]);
  } finally {
    pool.close();
  }
});

test('racers killed with SIGKILL at random moments (holding, waiting or breaking) never cause two holders', async () => {
  const rounds = 30;
  const pool = new WorkerPool(8);
  const killedAt = new Map<number, number>();
  try {
    await pool.whenReady();
    const registry = path.join(dir, 'chaos', 'ports.json');
    const log = path.join(dir, 'chaos.log');
    fs.mkdirSync(path.dirname(registry));
    for (let round = 0; round < rounds; round++) {
      const startAt = Date.now() + 20;
      const victims = [0, 1, 2, 3, 4, 5, 6, 7].sort(() => Math.random() - 0.5).slice(0, 2);
      const survivorsDone = pool.workers.map((child, index) => (victims.includes(index) ? null : pool.next(child, 'done')));
      for (const child of pool.workers) child.send({ registry, log, holdMs: 2, startAt });
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 15));
      await Promise.all(victims.map((index) => pool.killAndReplace(index, killedAt)));
      await Promise.all(survivorsDone);
    }
    const entries = readLog(log);
    const doubles = countDoubleHolders(entries, killedAt);
    const holds = entries.filter((entry) => entry.event === 'enter').length;
    console.log(`lock chaos: ${rounds} rounds, ${killedAt.size} racers killed, ${holds} holds, ${doubles} double holders`);
    expect(doubles).toBe(0);
    expect(holds).toBeGreaterThanOrEqual(rounds * 6);
    const started = Date.now();
    (await acquireLock(registry, { timeoutMs: 2000 })).release();
    expect(Date.now() - started).toBeLessThan(300);
    cleanupTempFiles(registry);
    expect(fs.readdirSync(path.dirname(registry))).toEqual([]);
  } finally {
    pool.close();
  }
});

test('a holder that blocks its event loop for 3 s keeps the lock while 5 others wait', async () => {
  const pool = new WorkerPool(6);
  try {
    await pool.whenReady();
    const registry = path.join(dir, 'slow', 'ports.json');
    const log = path.join(dir, 'slow.log');
    fs.mkdirSync(path.dirname(registry));
    const [holder, ...waiters] = pool.workers;
    const holderDone = pool.next(holder!, 'done');
    const acquired = pool.next(holder!, 'acquired');
    holder!.send({ registry, log, holdMs: 3000, reportAcquired: true });
    await acquired;
    // staleMs this small would let a timeout-based lock rob the holder; liveness must not.
    const waitersDone = waiters.map((child) => pool.next(child, 'done'));
    for (const child of waiters) child.send({ registry, log, holdMs: 1, staleMs: 50 });
    await Promise.all([holderDone, ...waitersDone]);
    const entries = readLog(log);
    expect(entries.slice(0, 2)).toEqual([
      expect.objectContaining({ event: 'enter', pid: holder!.pid }),
      expect.objectContaining({ event: 'exit', pid: holder!.pid }),
    ]);
    expect(entries[1]!.at - entries[0]!.at).toBeGreaterThanOrEqual(3000);
    expect(entries).toHaveLength(12);
    expect(countDoubleHolders(entries)).toBe(0);
  } finally {
    pool.close();
  }
});

test('20 processes × 25 increments under the lock count exactly 500', async () => {
  const counter = path.join(dir, 'count', 'counter.txt');
  fs.mkdirSync(path.dirname(counter));
  const codes = await Promise.all(
    Array.from({ length: 20 }, () => {
      const child = spawn(process.execPath, [worker, bundle, 'count', counter, '25'], { stdio: ['ignore', 'ignore', 'inherit'] });
      return new Promise<number | null>((resolve) => child.once('exit', resolve));
    }),
  );
  expect(codes).toEqual(Array(20).fill(0));
  expect(fs.readFileSync(counter, 'utf8')).toBe('500');
  expect(fs.readdirSync(path.dirname(counter))).toEqual(['counter.txt']);
});

test('the lock of a holder killed with SIGKILL is taken over in under 300 ms', async () => {
  const registry = path.join(dir, 'killed', 'ports.json');
  fs.mkdirSync(path.dirname(registry));
  const holder = spawn(process.execPath, [worker, bundle, 'hold', registry], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => holder.stdout!.once('data', resolve));
  expect(JSON.parse(fs.readFileSync(`${registry}.lock`, 'utf8')).pid).toBe(holder.pid);
  holder.kill('SIGKILL');
  await new Promise((resolve) => holder.once('exit', resolve));
  const started = Date.now();
  const lock = await acquireLock(registry, { timeoutMs: 2000 });
  expect(Date.now() - started).toBeLessThan(300);
  lock.release();
});
