/**
 * The registry file and everything named after it (`ports.json.lock`, its breakers, temp files,
 * `.corrupt-*` backups) have this one owner: it reads (validated on every read), locks, writes
 * (read-modify-write, or a whole replace for rebuilds), and finds and removes what killed
 * writers left. A file that cannot be understood is never written: the error names the file and
 * the exact place, and the bytes stay as they were.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExitCode, PortsError, RegistryCorruptError, RegistryError, RegistryMissingError } from '../errors';
import { emptyRegistry, validateRegistry, type PortRange, type Registry } from '../core/registry-schema';
import { findJsonSyntaxError, findKeyProblemIn } from '../core/strict-json';
import { writeFileAtomic } from './atomic-write';
import { acquireLock, cleanupTempFiles, findLeftovers, inspectLock, lockFileFor, removeStaleLock, type LockHandle, type LockInspection, type LockOptions } from './lock';

export const DEFAULT_REGISTRY_PATH = path.join('design', 'worktrees', 'ports.json');

export interface Transaction {
  /** Marks the registry as modified, so it is written when the update returns. */
  changed(): void;
  /** True when this update created the registry. */
  readonly created: boolean;
  /** Runs `fn` once the registry is on disk, still under the lock (files that name its ports come after it). */
  afterCommit(fn: () => void | Promise<void>): void;
}

export interface StoreOptions {
  now?: () => Date;
  lock?: LockOptions;
  /** Ranges a new registry starts with besides the default ones (from config). */
  extraRanges?: Record<string, PortRange>;
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  return `line ${before.split('\n').length}, column ${position - before.lastIndexOf('\n')}`;
}

/** Turns JSON.parse's complaint into something that points at the place and the likely cause. */
function describeJsonError(text: string, error: Error): string {
  if (text.trim() === '') return 'the file is empty';
  if (text.includes('\u0000')) return `the file contains NUL bytes (at byte ${text.indexOf('\u0000')}): it was probably cut short by a crash or a full disk`;
  const marker = /^(<{7}|={7}|>{7})( |$)/m.exec(text);
  if (marker) return `the file contains git conflict markers (${lineAndColumn(text, marker.index)}): finish the merge`;
  const found = findJsonSyntaxError(text);
  if (found) return `not valid JSON at line ${found.line}, column ${found.column}: ${found.message}`;
  return `not valid JSON: ${error.message}`;
}

/** Parses and validates registry text; throws RegistryCorruptError naming the place. */
export function parseRegistryText(file: string, raw: string): Registry {
  // A byte-order mark from a Windows editor is not corruption; the next write drops it.
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new RegistryCorruptError(file, [describeJsonError(text, error as Error)]);
  }
  const keyProblem = findKeyProblemIn(text, data);
  if (keyProblem) throw new RegistryCorruptError(file, [keyProblem]);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new RegistryCorruptError(file, ['(root): expected an object with "ranges", "allocations" and "metadata"']);
  }
  const result = validateRegistry(data);
  if (!result.ok) throw new RegistryCorruptError(file, result.problems);
  return result.registry;
}

function ioError(file: string, action: string, error: NodeJS.ErrnoException): RegistryError {
  const why: Record<string, string> = {
    EISDIR: 'a directory is in its place',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'the file system is read-only',
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is exceeded',
    ENOTDIR: 'a part of its path is a file, not a folder',
    ELOOP: 'too many levels of symbolic links',
  };
  const reason = why[error.code ?? ''] ?? error.message;
  // The lock and temp files live next to the registry: name the one that failed.
  const culprit = error.path ? path.resolve(error.path) : action === 'lock' ? lockFileFor(file) : file;
  const other = culprit !== file ? ` (${action === 'lock' ? 'its lock file ' : ''}${culprit})` : '';
  return new RegistryError(file, `Cannot ${action} the port registry ${file}${other}: ${reason}.`, {
    hint:
      error.code === 'ENOSPC' || error.code === 'EDQUOT'
        ? 'Free some disk space and run the command again; the registry was not changed.'
        : error.code === 'EISDIR'
          ? `Move the directory ${culprit} out of the way (ports needs ${culprit === file ? 'a file' : 'to create its lock file'} there), or pass --registry FILE to use another file; the registry was not changed.`
          : error.code === 'ENOTDIR'
            ? 'Move that file out of the way, or pass --registry FILE to use another file; the registry was not changed.'
            : 'Fix the file or folder permissions (or pass --registry FILE to use another file); the registry was not changed.',
    cause: error,
  });
}

export function currentUser(): string {
  let name: string | undefined;
  try {
    name = os.userInfo().username;
  } catch {
    name = process.env.USER ?? process.env.USERNAME;
  }
  return `${name || 'unknown'}@${os.hostname()}`;
}

export class RegistryStore {
  readonly file: string;
  private readonly now: () => Date;
  private readonly options: StoreOptions;

  constructor(file: string, options: StoreOptions = {}) {
    this.file = path.resolve(file);
    this.now = options.now ?? (() => new Date());
    this.options = options;
  }

  exists(): boolean {
    return fs.existsSync(this.file);
  }

  /** The registry as it is on disk, validated. Throws RegistryMissingError when absent. */
  read(): Registry {
    const registry = this.readIfExists();
    if (!registry) throw new RegistryMissingError(this.file);
    return registry;
  }

  readIfExists(): Registry | null {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw ioError(this.file, 'read', error as NodeJS.ErrnoException);
    }
    if (stat.isSymbolicLink()) {
      throw new RegistryError(this.file, `The port registry ${this.file} is a symbolic link (to ${safeReadlink(this.file)}).`, {
        hint: 'ports replaces the registry by an atomic rename, which would turn the link into a plain file. Pass the real file with --registry FILE (or PORTS_REGISTRY), or replace the link by the file.',
      });
    }
    if (stat.isDirectory()) throw ioError(this.file, 'read', Object.assign(new Error('EISDIR'), { code: 'EISDIR' }));
    if (!stat.isFile()) {
      // Reading a named pipe blocks forever (a hook would hang git), and an atomic replace of a device would swap it for a file.
      const kind = stat.isFIFO() ? 'a named pipe' : stat.isSocket() ? 'a socket' : 'a device';
      throw new RegistryError(this.file, `The port registry ${this.file} is not a regular file but ${kind}.`, {
        hint: 'Pass a regular file with --registry FILE (or PORTS_REGISTRY), or move this one out of the way; nothing was read or written.',
      });
    }
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      throw ioError(this.file, 'read', error as NodeJS.ErrnoException);
    }
    return parseRegistryText(this.file, text);
  }

  /**
   * Read-modify-write under the registry lock. `fn` mutates the registry in place and calls
   * `tx.changed()`; the file is written (atomically) only then. With `create`, a missing
   * registry starts from what `recover` rebuilds (under the lock, before `fn` allocates
   * anything), else empty with the default ranges.
   */
  async update<T>(
    fn: (registry: Registry, tx: Transaction) => T | Promise<T>,
    options: { create?: boolean; recover?: () => Promise<Registry | null> } = {},
  ): Promise<T> {
    const dir = path.dirname(this.file);
    if (options.create) {
      try {
        fs.mkdirSync(dir, { recursive: true });
      } catch (error) {
        throw ioError(this.file, 'create the folder of', error as NodeJS.ErrnoException);
      }
    } else if (!fs.existsSync(this.file)) {
      throw new RegistryMissingError(this.file);
    }
    const lock = await this.lock();
    try {
      this.removeLeftovers();
      let registry = this.readIfExists();
      let dirty = false;
      const created = registry === null;
      if (!registry) {
        if (!options.create) throw new RegistryMissingError(this.file);
        registry = (await options.recover?.()) ?? emptyRegistry(this.stamp(), this.options.extraRanges);
        dirty = true;
      }
      const committed: (() => void | Promise<void>)[] = [];
      const tx: Transaction = {
        changed: () => {
          dirty = true;
        },
        created,
        afterCommit: (then) => void committed.push(then),
      };
      const result = await fn(registry, tx);
      if (dirty) this.write(registry);
      for (const then of committed) await then();
      return result;
    } finally {
      releaseQuietly(lock);
    }
  }

  /** The file's bytes as they are (for a backup, or to replace exactly what was diagnosed); null when absent. */
  readBytes(): Buffer | null {
    try {
      return fs.readFileSync(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw ioError(this.file, 'read', error as NodeJS.ErrnoException);
    }
  }

  /**
   * Writes `registry` whole, in place of the registry as diagnosed: unreadable (`diagnosed`: its
   * bytes then) or lost (null). Under the lock, and only if the file is still as diagnosed —
   * still corrupt, or still missing — since another process may have repaired it meanwhile.
   * The bad file is kept first as a timestamped backup; returns its name.
   */
  async replace(registry: Registry, diagnosed: Buffer | null): Promise<string | null> {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
    } catch (error) {
      throw ioError(this.file, 'create the folder of', error as NodeJS.ErrnoException);
    }
    const lock = await this.lock();
    try {
      const current = this.readBytes();
      const untouched = diagnosed ? current !== null && (current.equals(diagnosed) || isCorrupt(this.file, current)) : current === null;
      if (!untouched) {
        throw new RegistryError(this.file, `${this.file} was ${diagnosed ? 'repaired' : 'created'} by another process in the meantime; nothing was changed.`, { hint: 'Run the command again.' });
      }
      let backup: string | null = null;
      try {
        if (diagnosed) {
          backup = backupName(this.file, this.now());
          fs.copyFileSync(this.file, backup, fs.constants.COPYFILE_EXCL);
        }
        writeFileAtomic(this.file, JSON.stringify(registry, null, 2) + '\n');
      } catch (error) {
        throw ioError(this.file, 'write', error as NodeJS.ErrnoException);
      }
      return backup;
    } finally {
      releaseQuietly(lock);
    }
  }

  /** Temp files of killed writers and breakers of gone lock instances next to the registry (removed by every locked update). */
  leftovers(): string[] {
    return findLeftovers(this.file);
  }

  /** Removes the leftovers; returns what was removed. */
  removeLeftovers(): string[] {
    return cleanupTempFiles(this.file);
  }

  inspectLock(): LockInspection {
    return inspectLock(this.file);
  }

  /** Removes the lock only when its owner is gone (through the breaker, as a takeover would). */
  removeStaleLock(): boolean {
    return removeStaleLock(this.file);
  }

  /** Throws the error every write would meet when the lock cannot be taken (a folder in its place, permissions). */
  async assertLockable(): Promise<void> {
    releaseQuietly(await this.lock());
  }

  /** The lock, with file-system failures (a folder where the lock goes, permissions) as exit-5 errors naming the path. */
  private async lock(): Promise<LockHandle> {
    try {
      return await acquireLock(this.file, this.options.lock);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code) throw ioError(this.file, 'lock', error as NodeJS.ErrnoException);
      throw error;
    }
  }

  /** ISO 8601 with milliseconds, so two writes in one second still differ. */
  stamp(): string {
    return this.now().toISOString();
  }

  private write(registry: Registry): void {
    let stamp = this.stamp();
    if (stamp <= registry.metadata.last_updated && /Z$/.test(registry.metadata.last_updated)) {
      stamp = new Date(Date.parse(registry.metadata.last_updated) + 1).toISOString();
    }
    registry.metadata.last_updated = stamp;
    registry.metadata.total_allocations = registry.allocations.length;
    // What the tool writes it must read: a registry its own reader rejects would stop every command.
    const check = validateRegistry(registry);
    if (!check.ok) {
      throw new PortsError(`Refusing to write ${this.file}, which ports could not read back: ${check.problems.join('; ')}.`, {
        exitCode: ExitCode.usage,
        hint: 'Nothing was written. Names and descriptions must be one line without control characters (rename such a worktree folder with `git worktree move`).',
      });
    }
    try {
      writeFileAtomic(this.file, JSON.stringify(registry, null, 2) + '\n');
    } catch (error) {
      throw ioError(this.file, 'write', error as NodeJS.ErrnoException);
    }
  }
}

function releaseQuietly(lock: LockHandle): void {
  try {
    lock.release();
  } catch {
    // A full disk can make the release fail too. It must not hide the outcome (or the real error):
    // the lock names this process, so the next run takes it over as soon as we exit.
  }
}

function isCorrupt(file: string, bytes: Buffer): boolean {
  try {
    parseRegistryText(file, bytes.toString('utf8'));
    return false;
  } catch {
    return true;
  }
}

/** `<registry>.corrupt-2026-11-24T22-05-01-123Z`, never overwriting an older backup. */
export function backupName(file: string, now: Date): string {
  const base = `${file}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
  let name = base;
  for (let i = 2; fs.existsSync(name); i++) name = `${base}-${i}`;
  return name;
}

function safeReadlink(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    return '?';
  }
}
