/**
 * The machine index: every registry the tool has used for this user, so that no port is handed
 * out twice on the host, across repositories (see docs/design.md, "The machine").
 *
 * Layout: one small JSON file per registry, `<state>/registries/<hash of the registry path>.json`,
 * holding `{ registry, repo, name }`. Registering is one atomic write of that file; listing is
 * one readdir. Other repositories' registries are read leniently and without their lock (stat,
 * read, JSON.parse: no schema): a registry that is gone is pruned by an allocation, one that
 * cannot be read is skipped. `<state>/allocation.lock` is the machine lock an allocation holds
 * from reading the others until its own registry is committed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LockTimeoutError } from '../errors';
import { writeFileAtomic } from './atomic-write';
import { acquireLock, type LockHandle, type LockOptions } from './lock';
import { compareText } from '../core/compare';

export interface IndexedRegistry {
  /** Absolute path of the registry file. */
  registry: string;
  /** The repository's main worktree root (or its common git dir when bare). */
  repo: string;
  /** A short name of the repository (its folder name), for display and URLs. */
  name: string;
}

/** One allocation as read leniently from another registry: only what uniqueness and routing need. */
export interface LenientAllocation {
  port: number;
  worktree: string;
  service: string;
  worktree_path?: string;
  repo?: string;
}

/** The per-user state folder: PORTS_STATE_DIR, else XDG_STATE_HOME/ports, else the platform's usual place. */
export function stateDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform, home: string = os.homedir()): string {
  if (env.PORTS_STATE_DIR) return path.resolve(env.PORTS_STATE_DIR);
  if (env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)) return path.join(env.XDG_STATE_HOME, 'ports');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'ports');
  if (platform === 'win32') return path.join(env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'ports', 'state');
  return path.join(home, '.local', 'state', 'ports');
}

export function indexDir(env: NodeJS.ProcessEnv): string {
  return path.join(stateDir(env), 'registries');
}

export function entryFileFor(env: NodeJS.ProcessEnv, registryFile: string): string {
  return path.join(indexDir(env), `${pathKey(path.resolve(registryFile))}.json`);
}

/**
 * A file name for a registry path: 64-bit FNV-1a of its UTF-16 code units, as 16 hex digits.
 * Not a secret, only a name: a collision would need ~4 billion registries. Every allocating run
 * computes one, and loading node:crypto for it cost ~10 ms of CPU (docs/design.md, "The machine index").
 */
export function pathKey(text: string): string {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < text.length; i++) {
    lo = (lo ^ text.charCodeAt(i)) >>> 0;
    // (hi, lo) *= FNV prime 0x100000001b3, in 32-bit halves: prime = 2^40 + 0x1b3.
    const loMul = lo * 0x1b3;
    const carry = Math.floor(loMul / 0x100000000);
    const newLo = loMul >>> 0;
    hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + carry) >>> 0;
    lo = newLo;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

function parseEntry(text: string): IndexedRegistry | null {
  try {
    const data = JSON.parse(text) as Partial<IndexedRegistry> | null;
    if (!data || typeof data.registry !== 'string' || !path.isAbsolute(data.registry)) return null;
    return { registry: data.registry, repo: typeof data.repo === 'string' ? data.repo : path.dirname(data.registry), name: typeof data.name === 'string' ? data.name : '' };
  } catch {
    return null;
  }
}

/** Adds (or refreshes) a registry's entry; a no-op when the entry already says the same. */
export function registerRegistry(env: NodeJS.ProcessEnv, entry: IndexedRegistry): boolean {
  const file = entryFileFor(env, entry.registry);
  const text = JSON.stringify({ registry: path.resolve(entry.registry), repo: entry.repo, name: entry.name }) + '\n';
  try {
    if (fs.readFileSync(file, 'utf8') === text) return false;
  } catch {
    // not there yet
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, text);
  return true;
}

export function unregisterRegistry(env: NodeJS.ProcessEnv, registryFile: string): void {
  try {
    fs.unlinkSync(entryFileFor(env, registryFile));
  } catch {
    // already gone
  }
}

/** Every indexed registry whose entry can be read (unreadable entries are skipped, never an error). */
export function listIndexedRegistries(env: NodeJS.ProcessEnv): IndexedRegistry[] {
  const dir = indexDir(env);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const entries: IndexedRegistry[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    try {
      const entry = parseEntry(fs.readFileSync(path.join(dir, name), 'utf8'));
      if (entry) entries.push(entry);
    } catch {
      // a half-visible or unreadable entry: skipped
    }
  }
  return entries.sort((a, b) => compareText(a.registry, b.registry));
}

/**
 * Another registry's allocations, read without its lock and without the schema: whatever has a
 * whole-number port counts as held. `null` when the file is gone or is not JSON.
 */
export function readRegistryLeniently(file: string): LenientAllocation[] | null {
  const read = readRegistryRecords(file);
  if (read.state !== 'ok') return null;
  return read.records.map((r) => ({
    port: r.port,
    worktree: typeof r.worktree === 'string' ? r.worktree : '',
    service: typeof r.service === 'string' ? r.service : '',
    ...(typeof r.worktree_path === 'string' ? { worktree_path: r.worktree_path } : {}),
    ...(typeof r.repo === 'string' ? { repo: r.repo } : {}),
  }));
}

/** One allocation record of another registry, every field as stored; only `port` is checked. */
export type RegistryRecord = Record<string, unknown> & { port: number };

export type RegistryRead =
  | { state: 'ok'; records: RegistryRecord[] }
  /** The file does not exist (nor does its folder): the only state that prunes an entry. */
  | { state: 'gone' }
  /** Anything else (not JSON, a directory, permission denied, an I/O error): skipped, kept. */
  | { state: 'unreadable'; reason: string };

const GONE = new Set(['ENOENT', 'ENOTDIR']);

/**
 * A registry read leniently: stat, read, JSON.parse, nothing more (fifty of these sit on every
 * allocation's path, and the schema would cost more than the rest of the run).
 */
export function readRegistryRecords(file: string): RegistryRead {
  let text: string;
  try {
    const read = readRegularFile(file);
    if (read === null) return { state: 'unreadable', reason: 'not a regular file' };
    text = read;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code && GONE.has(code)) return { state: 'gone' };
    return { state: 'unreadable', reason: code ?? (error as Error).message };
  }
  const records = readRegistryText(text);
  return records ? { state: 'ok', records } : { state: 'unreadable', reason: 'not JSON with an "allocations" list' };
}

/**
 * A regular file's text in one open: non-blocking, so a named pipe in a registry's place
 * returns null instead of hanging; fstat on the open file instead of a separate stat.
 */
export function readRegularFile(file: string): string | null {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  try {
    const size = fs.fstatSync(fd);
    if (!size.isFile()) return null;
    const buffer = Buffer.allocUnsafe(size.size);
    let length = 0;
    while (length < buffer.length) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, length);
      if (n === 0) break;
      length += n;
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    fs.closeSync(fd);
  }
}

/** The allocation records of registry text, leniently (null when it is not JSON with an allocations list). */
export function readRegistryText(text: string): RegistryRecord[] | null {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return null;
  }
  const list = (data as { allocations?: unknown } | null)?.allocations;
  if (!Array.isArray(list)) return null;
  const records: RegistryRecord[] = [];
  for (const a of list) {
    if (!a || typeof a !== 'object') continue;
    const port = (a as { port?: unknown }).port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    records.push(a as RegistryRecord);
  }
  return records;
}

/** Who holds a port in another registry of the machine, in words. */
export interface MachineHolder {
  registry: string;
  repo: string;
  worktree: string;
  service: string;
}

export interface MachineView {
  /** Ports held by the other registries, with their holder. */
  held: Map<number, MachineHolder>;
  /** Registries whose file is gone (their entries removed when `prune` was asked). */
  gone: string[];
  /** Registries that could not be read: skipped. */
  unreadable: { registry: string; reason: string }[];
}

/**
 * The ports every other indexed registry holds. `exclude` is the caller's own registry (read
 * under its lock instead). With `prune`, the entries of registries that are gone are removed:
 * only a caller holding the machine lock may ask, since a registry is registered under that lock
 * before its file is first written.
 */
export function portsHeldElsewhere(env: NodeJS.ProcessEnv, exclude: string | null, options: { prune?: boolean } = {}): MachineView {
  const own = exclude === null ? null : path.resolve(exclude);
  const view: MachineView = { held: new Map(), gone: [], unreadable: [] };
  for (const entry of listIndexedRegistries(env)) {
    if (entry.registry === own) continue;
    const read = readRegistryRecords(entry.registry);
    if (read.state === 'gone') {
      view.gone.push(entry.registry);
      if (options.prune) pruneIfGone(env, entry.registry);
      continue;
    }
    if (read.state === 'unreadable') {
      view.unreadable.push({ registry: entry.registry, reason: read.reason });
      continue;
    }
    for (const r of read.records) {
      if (view.held.has(r.port)) continue;
      view.held.set(r.port, {
        registry: entry.registry,
        repo: typeof r.repo === 'string' ? r.repo : entry.repo,
        worktree: typeof r.worktree === 'string' ? r.worktree : '?',
        service: typeof r.service === 'string' ? r.service : '?',
      });
    }
  }
  return view;
}

/** Removes a registry's entry, checking once more that its file is really gone. */
function pruneIfGone(env: NodeJS.ProcessEnv, registryFile: string): void {
  try {
    fs.statSync(registryFile);
    return;
  } catch (error) {
    if (!GONE.has((error as NodeJS.ErrnoException).code ?? '')) return;
  }
  unregisterRegistry(env, registryFile);
}

/**
 * The machine lock, held by an allocation from before it reads the other registries until its
 * own registry is committed, so two repositories never pick the same port at the same moment.
 * Always taken before a registry lock, never inside one (except by tryMachineLock, which never waits).
 */
export function machineLockTarget(env: NodeJS.ProcessEnv): string {
  return path.join(stateDir(env), 'allocation');
}

export function acquireMachineLock(env: NodeJS.ProcessEnv, options: LockOptions = {}): Promise<LockHandle> {
  return acquireLock(machineLockTarget(env), options);
}

/** The machine lock if it is free right now, else null: safe while a registry lock is held. */
export async function tryMachineLock(env: NodeJS.ProcessEnv): Promise<LockHandle | null> {
  try {
    return await acquireLock(machineLockTarget(env), { timeoutMs: 0 });
  } catch (error) {
    if (error instanceof LockTimeoutError) return null;
    throw error;
  }
}
