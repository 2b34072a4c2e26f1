/**
 * The registry lock: `<registry>.lock`, created with its content in one step (link of a private
 * temp file), holding who owns it. A lock whose owner is gone is taken over at once; a live
 * owner is never robbed, however slow. See removeInstance for why a takeover never yields two holders.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256Hex } from '../core/sha256';
import { LockTimeoutError } from '../errors';
import { atomicTempName, TEMP_SUFFIX_PATTERN } from './atomic-write';
import { describeHolder, judge, ownerRecord, parseRecord, type OwnerRecord, type Verdict } from './lock-owner';
import { processLiveness } from './process-info';

export interface LockOptions {
  timeoutMs?: number;
  /** Age after which a lock from another host (whose process cannot be checked) counts as stale. */
  staleMs?: number;
  /** Called when we start waiting, and again whenever the holder changes. */
  onWait?: (holder: string) => void;
}

export interface LockHandle {
  readonly file: string;
  release(): void;
}

export interface LockInspection {
  file: string;
  /** `unusable`: something that is not a lock file is in its place (a folder, say); every write fails. */
  state: 'free' | 'held' | 'stale' | 'unusable';
  holder?: { pid: number; host: string; acquired_at?: string };
  reason?: string;
}

// A hold lasts milliseconds; 30 s of waiting means something is stuck, not busy (50 allocations
// at once on a loaded 2-core machine were measured waiting over 10 s).
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_STALE_MS = 30_000;
const MAX_BACKOFF_MS = 25;
/** How long a waiter trusts that an unchanged lock file still has a live owner. */
const REJUDGE_MS = 100;
/** Breakers of breakers exist only if breakers get killed mid-takeover; a few levels are plenty. */
const MAX_BREAK_DEPTH = 4;
/** Without hard links a lock is written after it is created; give its writer this long. */
const UNLINKED_WRITE_GRACE_MS = 2_000;
const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** One on-disk instance of a lock or breaker file; `key` names it for its breaker (see instanceKey). */
interface FileInstance {
  content: string;
  record: OwnerRecord | null;
  readonly key: string;
  mtimeMs: number;
  /** Inode and mtime in ns: what a stat compares to tell that the file is still this instance. */
  identity: string;
}

type Removal = 'removed' | 'gone' | 'busy';

function judgeInstance(instance: FileInstance, staleMs: number): Verdict {
  // Without hard links a lock is written after it is created: give its writer a moment.
  return judge(instance, staleMs, linkUnsupported ? UNLINKED_WRITE_GRACE_MS : 0);
}

export function lockFileFor(targetFile: string): string {
  return `${targetFile}.lock`;
}

export async function acquireLock(targetFile: string, options: LockOptions = {}): Promise<LockHandle> {
  const lockFile = lockFileFor(targetFile);
  const timeoutMs = options.timeoutMs ?? envMs('PORTS_LOCK_TIMEOUT_MS') ?? DEFAULT_TIMEOUT_MS;
  const staleMs = options.staleMs ?? envMs('PORTS_LOCK_STALE_MS') ?? DEFAULT_STALE_MS;
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  const started = Date.now();
  const nextDelay = backoff();
  let lastHolder: string | undefined;
  // A poll costs one stat while the lock is held. A lock file is read and its owner's liveness
  // checked only when the same file is still there at the next poll (holds last milliseconds, so
  // with many waiters most files are gone by then), and a file whose owner was found alive is
  // trusted for REJUDGE_MS. Before, every poll created a temp file, tried to link it and read
  // the lock: 40 waiters spent more CPU polling than the work they waited for.
  let previous: string | null = null;
  let live: { identity: string; judgedAt: number } | undefined;
  for (;;) {
    const identity = statIdentity(lockFile);
    let retryNow = false;
    if (identity === null) {
      const own = ownerRecord();
      if (createExclusive(lockFile, JSON.stringify(own))) return holdLock(lockFile, own.token, staleMs);
    } else if (identity === previous && !(live?.identity === identity && Date.now() - live.judgedAt < REJUDGE_MS)) {
      const current = readInstance(lockFile);
      retryNow = current === null;
      if (current) {
        const verdict = judgeInstance(current, staleMs);
        if (verdict.stale) {
          retryNow = removeInstance(lockFile, current, staleMs) !== 'busy';
        } else {
          live = { identity: current.identity, judgedAt: Date.now() };
          const holder = describeHolder(current);
          if (holder !== lastHolder) options.onWait?.(holder);
          lastHolder = holder;
        }
      }
    }
    previous = identity;
    const waited = Date.now() - started;
    if (waited >= timeoutMs) {
      const current = readInstance(lockFile);
      throw new LockTimeoutError(lockFile, current ? describeHolder(current) : (lastHolder ?? 'a process taking over a stale lock'), waited);
    }
    if (!retryNow) await sleep(Math.min(nextDelay(), timeoutMs - waited));
  }
}

export async function withLock<T>(targetFile: string, fn: () => Promise<T> | T, options?: LockOptions): Promise<T> {
  const lock = await acquireLock(targetFile, options);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

export function inspectLock(targetFile: string): LockInspection {
  const file = lockFileFor(targetFile);
  let current: FileInstance | null;
  try {
    current = readInstance(file);
  } catch (error) {
    return { file, state: 'unusable', reason: (error as Error).message };
  }
  if (!current) return { file, state: 'free' };
  const verdict = judgeInstance(current, envMs('PORTS_LOCK_STALE_MS') ?? DEFAULT_STALE_MS);
  const record = current.record;
  return {
    file,
    state: verdict.stale ? 'stale' : 'held',
    ...(record && { holder: { pid: record.pid, host: record.host, acquired_at: record.acquired_at } }),
    reason: verdict.reason,
  };
}

/** For `ports doctor --fix`: removes the lock only if it is stale, and only through the breaker. */
export function removeStaleLock(targetFile: string): boolean {
  const file = lockFileFor(targetFile);
  const staleMs = envMs('PORTS_LOCK_STALE_MS') ?? DEFAULT_STALE_MS;
  for (let attempt = 0; attempt < 50; attempt++) {
    const current = readInstance(file);
    if (!current || !judgeInstance(current, staleMs).stale) return false;
    const outcome = removeInstance(file, current, staleMs);
    if (outcome !== 'busy') return outcome === 'removed';
    sleepSync(2);
  }
  return false;
}

/**
 * What killed processes left next to the registry: temp files (`<base>.<pid>.<rand>.tmp`, from
 * writeFileAtomic and from lock creation) of dead PIDs, and breaker files of lock instances
 * that no longer exist. Found only; `cleanupTempFiles` removes them.
 */
export function findLeftovers(targetFile: string): string[] {
  const dir = path.dirname(targetFile);
  const base = escapeRegExp(path.basename(targetFile));
  const tempName = new RegExp(`^${base}(?:\\.lock(?:\\.break-[0-9a-f]+)*)?${TEMP_SUFFIX_PATTERN}$`);
  const breakerName = new RegExp(`^${base}\\.lock\\.break-([0-9a-f]+)(?:\\.break-[0-9a-f]+)*$`);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  // Read after listing (and only when there is a breaker): a breaker listed above whose instance
  // is not the lock now is for a lock gone for good.
  let currentKey: string | null | undefined;
  const currentLockKey = (): string | null => {
    try {
      return readInstance(lockFileFor(targetFile))?.key ?? null;
    } catch {
      return null; // no lock file can be there (a folder in its place): every breaker is obsolete
    }
  };
  const found: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const temp = tempName.exec(name);
    const breaker = breakerName.exec(name);
    let obsolete = false;
    if (temp) obsolete = processLiveness(Number(temp[1])) === 'dead';
    else if (breaker && breaker[1] !== (currentKey === undefined ? (currentKey = currentLockKey()) : currentKey)) {
      let instance: FileInstance | null = null;
      try {
        instance = readInstance(file);
      } catch {
        // not a file we made: leave it
      }
      obsolete = instance !== null && judgeInstance(instance, 0).stale;
    }
    if (obsolete) found.push(file);
  }
  return found;
}

/** Removes what findLeftovers finds; returns what was removed. */
export function cleanupTempFiles(targetFile: string): string[] {
  return findLeftovers(targetFile).filter(unlinkQuietly);
}

const heldLocks = new Set<LockHandle>();
let exitHookInstalled = false;

function holdLock(lockFile: string, token: string, staleMs: number): LockHandle {
  let released = false;
  const handle: LockHandle = {
    file: lockFile,
    release() {
      if (released) return;
      released = true;
      heldLocks.delete(handle);
      releaseInstance(lockFile, token, staleMs);
    },
  };
  // A process that exits without releasing (process.exit in the middle) hands the lock on at once.
  if (!exitHookInstalled) process.once('exit', releaseAllHeld);
  exitHookInstalled = true;
  heldLocks.add(handle);
  return handle;
}

function releaseAllHeld(): void {
  for (const handle of [...heldLocks]) handle.release();
}

/** Goes through the breaker too, so a release can never remove a lock that replaced ours. */
function releaseInstance(file: string, token: string, staleMs: number): void {
  for (let attempt = 0; attempt < 50; attempt++) {
    const current = readInstance(file);
    if (!current || current.record?.token !== token) return;
    if (removeInstance(file, current, staleMs) !== 'busy') return;
    sleepSync(2);
  }
}

/**
 * Removes exactly the observed instance of `file`, never one that replaced it. The right to do
 * so is creating `<file>.break-<key>`: a name owned by that one instance, so among any number of
 * racers only one creates it, and while it exists the instance can only go away through its
 * holder (the owner being dead). Instances never recur (random token), so once the instance is
 * gone every later use of the name is a harmless no-op. A breaker whose own holder died is
 * removed the same way, one level down.
 */
function removeInstance(file: string, observed: FileInstance, staleMs: number, depth = 0): Removal {
  const breaker = `${file}.break-${observed.key}`;
  const own = ownerRecord();
  if (!createExclusive(breaker, JSON.stringify(own))) {
    const other = readInstance(breaker);
    if (other && depth < MAX_BREAK_DEPTH && judgeInstance(other, staleMs).stale) removeInstance(breaker, other, staleMs, depth + 1);
    return 'busy';
  }
  try {
    const current = readInstance(file);
    if (!current || current.key !== observed.key) return 'gone';
    unlinkQuietly(file);
    return 'removed';
  } finally {
    if (readInstance(breaker)?.record?.token === own.token) unlinkQuietly(breaker);
  }
}

let linkUnsupported = false;

/** Creates `file` with its whole content in one step, or returns false if it exists. */
function createExclusive(file: string, content: string): boolean {
  if (linkUnsupported) return createWithExclusiveOpen(file, content);
  for (let attempt = 0; ; attempt++) {
    const temp = atomicTempName(file);
    try {
      fs.writeFileSync(temp, content, { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') unlinkQuietly(temp);
      throw error;
    }
    try {
      fs.linkSync(temp, file);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') return false;
      // A cleaner on another host/PID namespace may take our temp file for a dead writer's.
      if (code === 'ENOENT' && attempt < 3) continue;
      if (!LINK_UNSUPPORTED.has(code)) throw error;
      linkUnsupported = true;
      return createWithExclusiveOpen(file, content);
    } finally {
      unlinkQuietly(temp);
    }
  }
}

function createWithExclusiveOpen(file: string, content: string): boolean {
  try {
    fs.writeFileSync(file, content, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

const TOKEN = /^[0-9a-f]{32}$/;

/**
 * The name of a lock instance's breaker file (`<lock>.break-<key>`), the same for everyone who
 * looks at that instance. A record of ours carries a token made for that one instance: it is
 * the key. Anything else (a foreign or garbage file, whose content may recur) is hashed with its
 * inode. Hashing every record cost a release ~1 ms of cold SHA-256.
 */
export function instanceKey(ino: bigint, content: string, record: OwnerRecord | null): string {
  return record && TOKEN.test(record.token) ? record.token : sha256Hex(`${ino}:${content}`).slice(0, 16);
}

function readInstance(file: string): FileInstance | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const stat = fs.fstatSync(fd, { bigint: true });
    // A folder opens fine on Linux; name it, so the error says which path is in the way.
    if (stat.isDirectory()) throw Object.assign(new Error(`EISDIR: ${file} is a directory`), { code: 'EISDIR', path: file });
    const content = fs.readFileSync(fd, 'utf8');
    const record = parseRecord(content);
    let key: string | undefined;
    return {
      content,
      record,
      // Worked out on first use: only a takeover, a release and the clean-up of breakers need it.
      get key() {
        return (key ??= instanceKey(stat.ino, content, record));
      },
      mtimeMs: Number(stat.mtimeMs),
      identity: identityOf(stat),
    };
  } finally {
    fs.closeSync(fd);
  }
}

/** `ino:mtime`: what tells one instance of a lock file from the next. */
function identityOf(stat: fs.BigIntStats): string {
  return `${stat.ino}:${stat.mtimeNs}`;
}

/** The identity of the file now at `file`, or null when there is none. */
function statIdentity(file: string): string | null {
  const stat = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  return stat ? identityOf(stat) : null;
}

/** A plain timer: node:timers/promises would be one more module to load on every locking run. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Randomized so racers spread out: starts at 1–3 ms, grows to at most 25 ms. */
function backoff(): () => number {
  let delay = 1 + Math.random() * 2;
  return () => {
    const current = delay;
    delay = Math.min(MAX_BACKOFF_MS, delay * (1.3 + Math.random() * 0.4));
    return current;
  };
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

function unlinkQuietly(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch {
    return false;
  }
}

function envMs(name: string): number | undefined {
  const value = Number(process.env[name]);
  return process.env[name] && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
