/**
 * The registry lock: `<registry>.lock`, created with its content in one step (link of a private
 * temp file), holding who owns it. A lock whose owner is gone is taken over at once; a live
 * owner is never robbed, however slow. See removeInstance for why a takeover never yields two holders.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockTimeoutError } from '../errors';
import { bootId, processLiveness, processStartTime } from './process-info';

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
  state: 'free' | 'held' | 'stale';
  holder?: { pid: number; host: string; acquired_at?: string };
  reason?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_STALE_MS = 30_000;
const MAX_BACKOFF_MS = 25;
/** Breakers of breakers exist only if breakers get killed mid-takeover; a few levels are plenty. */
const MAX_BREAK_DEPTH = 4;
/** Without hard links a lock is written after it is created; give its writer this long. */
const UNLINKED_WRITE_GRACE_MS = 2_000;
const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

interface OwnerRecord {
  pid: number;
  host: string;
  start_time: string | null;
  boot_id: string | null;
  /** Two containers with one hostname have separate PID spaces: treated like two hosts. */
  pid_ns: string | null;
  token: string;
  acquired_at: string;
}

/** One on-disk instance of a lock or breaker file. `key` hashes its inode and content (with a random token). */
interface FileInstance {
  content: string;
  record: OwnerRecord | null;
  key: string;
  mtimeMs: number;
}

interface Verdict {
  stale: boolean;
  reason: string;
}

type Removal = 'removed' | 'gone' | 'busy';

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
  for (;;) {
    const own = ownerRecord();
    if (createExclusive(lockFile, JSON.stringify(own))) return holdLock(lockFile, own.token, staleMs);
    const current = readInstance(lockFile);
    let retryNow = current === null;
    if (current) {
      const verdict = judge(current, staleMs);
      if (verdict.stale) {
        retryNow = removeInstance(lockFile, current, staleMs) !== 'busy';
      } else {
        const holder = describeHolder(current);
        if (holder !== lastHolder) options.onWait?.(holder);
        lastHolder = holder;
      }
    }
    const waited = Date.now() - started;
    if (waited >= timeoutMs) throw new LockTimeoutError(lockFile, lastHolder ?? 'a process taking over a stale lock', waited);
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
  const current = readInstance(file);
  if (!current) return { file, state: 'free' };
  const verdict = judge(current, envMs('PORTS_LOCK_STALE_MS') ?? DEFAULT_STALE_MS);
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
    if (!current || !judge(current, staleMs).stale) return false;
    const outcome = removeInstance(file, current, staleMs);
    if (outcome !== 'busy') return outcome === 'removed';
    sleepSync(2);
  }
  return false;
}

/**
 * Removes what killed processes left next to the registry: temp files (`<base>.<pid>.<rand>.tmp`,
 * from writeFileAtomic and from lock creation) of dead PIDs, and breaker files of lock instances
 * that no longer exist.
 */
export function cleanupTempFiles(targetFile: string): string[] {
  const dir = path.dirname(targetFile);
  const base = escapeRegExp(path.basename(targetFile));
  const tempName = new RegExp(`^${base}(?:\\.lock(?:\\.break-[0-9a-f]+)*)?\\.(\\d+)\\.[0-9a-f]+\\.tmp$`);
  const breakerName = new RegExp(`^${base}\\.lock\\.break-([0-9a-f]+)(?:\\.break-[0-9a-f]+)*$`);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  // Read after listing: a breaker listed above whose instance is not the lock now is for a lock gone for good.
  const currentKey = readInstance(lockFileFor(targetFile))?.key;
  const removed: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const temp = tempName.exec(name);
    const breaker = breakerName.exec(name);
    let obsolete = false;
    if (temp) obsolete = processLiveness(Number(temp[1])) === 'dead';
    else if (breaker && breaker[1] !== currentKey) {
      const instance = readInstance(file);
      obsolete = instance !== null && judge(instance, 0).stale;
    }
    if (obsolete && unlinkQuietly(file)) removed.push(file);
  }
  return removed;
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
    if (other && depth < MAX_BREAK_DEPTH && judge(other, staleMs).stale) removeInstance(breaker, other, staleMs, depth + 1);
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
    const temp = `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
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
    const content = fs.readFileSync(fd, 'utf8');
    const key = crypto.createHash('sha256').update(`${stat.ino}:${content}`).digest('hex').slice(0, 16);
    return { content, record: parseRecord(content), key, mtimeMs: Number(stat.mtimeMs) };
  } finally {
    fs.closeSync(fd);
  }
}

function parseRecord(content: string): OwnerRecord | null {
  try {
    const value = JSON.parse(content) as Partial<OwnerRecord> | null;
    if (!value || !Number.isInteger(value.pid) || typeof value.host !== 'string' || typeof value.token !== 'string') return null;
    return {
      pid: value.pid as number,
      host: value.host,
      start_time: typeof value.start_time === 'string' ? value.start_time : null,
      boot_id: typeof value.boot_id === 'string' ? value.boot_id : null,
      pid_ns: typeof value.pid_ns === 'string' ? value.pid_ns : null,
      token: value.token,
      acquired_at: typeof value.acquired_at === 'string' ? value.acquired_at : '',
    };
  } catch {
    return null;
  }
}

/**
 * Same host (and PID namespace): the owner's liveness decides, at once and exactly. Another
 * host: only age can, so only after staleMs.
 */
function judge(instance: FileInstance, staleMs: number): Verdict {
  const owner = instance.record;
  const now = Date.now();
  if (!owner) {
    if (linkUnsupported && now - instance.mtimeMs < UNLINKED_WRITE_GRACE_MS) return { stale: false, reason: 'being written' };
    return { stale: true, reason: 'its content is not a lock record' };
  }
  const self = selfIdentity();
  const acquiredAt = Date.parse(owner.acquired_at);
  if (owner.host === self.host && owner.boot_id && self.boot_id && owner.boot_id !== self.boot_id) {
    // A different boot id with a time after our boot is another machine with the same hostname.
    if (!(acquiredAt >= self.bootedAt)) return { stale: true, reason: 'it was taken before the machine rebooted' };
  } else if (owner.host === self.host && (!owner.pid_ns || !self.pid_ns || owner.pid_ns === self.pid_ns)) {
    if (processLiveness(owner.pid, owner.start_time) === 'alive') return { stale: false, reason: `process ${owner.pid} is running` };
    return { stale: true, reason: deadOwnerReason(owner) };
  }
  const ageMs = now - Math.max(Number.isNaN(acquiredAt) ? 0 : acquiredAt, instance.mtimeMs);
  if (ageMs > staleMs) {
    return { stale: true, reason: `taken on ${owner.host} ${Math.round(ageMs / 1000)} s ago, longer than ${staleMs} ms, and its process cannot be checked from here` };
  }
  return { stale: false, reason: `taken on ${owner.host}, whose process cannot be checked from here, ${Math.round(ageMs / 1000)} s ago` };
}

function deadOwnerReason(owner: OwnerRecord): string {
  const startTime = processStartTime(owner.pid);
  if (startTime === null) return `process ${owner.pid} is not running`;
  if (owner.start_time && startTime !== owner.start_time) return `PID ${owner.pid} now belongs to another process`;
  return `process ${owner.pid} has exited (zombie)`;
}

function describeHolder(instance: FileInstance): string {
  const owner = instance.record;
  if (!owner) return 'an unreadable lock file';
  const self = owner.pid === process.pid && owner.host === selfIdentity().host ? ', this process' : '';
  return `pid ${owner.pid} on ${owner.host}${self}, since ${owner.acquired_at}`;
}

let identity: { host: string; start_time: string | null; boot_id: string | null; pid_ns: string | null; bootedAt: number } | undefined;

function selfIdentity(): NonNullable<typeof identity> {
  if (!identity || identity.host !== os.hostname()) {
    let pidNs: string | null = null;
    try {
      pidNs = fs.readlinkSync('/proc/self/ns/pid');
    } catch {
      // Not Linux: hostname alone tells machines apart.
    }
    identity = { host: os.hostname(), start_time: processStartTime(process.pid), boot_id: bootId(), pid_ns: pidNs, bootedAt: Date.now() - os.uptime() * 1000 };
  }
  return identity;
}

function ownerRecord(): OwnerRecord {
  const { host, start_time, boot_id, pid_ns } = selfIdentity();
  const token = crypto.randomBytes(16).toString('hex');
  return { pid: process.pid, host, start_time, boot_id, pid_ns, token, acquired_at: new Date().toISOString() };
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
