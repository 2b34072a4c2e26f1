/**
 * The machine index: every registry the tool has used for this user, so that no port is handed
 * out twice on the host, across repositories (see docs/design.md, "The machine").
 *
 * Layout: one small JSON file per registry, `<state>/registries/<hash of the registry path>.json`,
 * holding `{ registry, repo, name }`. Registering is one atomic write of that file and needs no
 * lock; listing is one readdir. Other repositories' registries are read leniently and without
 * their lock: a registry that is gone is pruned, one that cannot be read is skipped.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha256Hex } from '../core/sha256';
import { writeFileAtomic } from './atomic-write';

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
  const key = sha256Hex(path.resolve(registryFile)).slice(0, 16);
  return path.join(indexDir(env), `${key}.json`);
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
  return entries.sort((a, b) => a.registry.localeCompare(b.registry));
}

/**
 * Another registry's allocations, read without its lock and without the schema: whatever has a
 * whole-number port counts as held. `null` when the file is gone or is not JSON.
 */
export function readRegistryLeniently(file: string): LenientAllocation[] | null {
  let data: unknown;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) return null;
    data = JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch {
    return null;
  }
  const list = (data as { allocations?: unknown } | null)?.allocations;
  if (!Array.isArray(list)) return [];
  const out: LenientAllocation[] = [];
  for (const a of list) {
    if (!a || typeof a !== 'object') continue;
    const r = a as Record<string, unknown>;
    if (typeof r.port !== 'number' || !Number.isInteger(r.port) || r.port < 1 || r.port > 65535) continue;
    out.push({
      port: r.port,
      worktree: typeof r.worktree === 'string' ? r.worktree : '',
      service: typeof r.service === 'string' ? r.service : '',
      ...(typeof r.worktree_path === 'string' ? { worktree_path: r.worktree_path } : {}),
      ...(typeof r.repo === 'string' ? { repo: r.repo } : {}),
    });
  }
  return out;
}
