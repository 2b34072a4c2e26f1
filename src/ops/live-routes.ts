/**
 * The proxy's routing table, kept live: the machine index and every registry it names are read
 * again when they change. Robust rather than clever: fs.watch on the index folder and on each
 * registry's folder marks the table dirty at once, and a stat of every file (a few dozen at
 * most) at most every 250 ms — on a request or on a one-second tick — catches whatever a
 * watcher misses (network file systems, a registry folder created later, atomic renames).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildRoutingTable, type RouteSource, type RoutingTable } from '../core/proxy-routes';
import { indexDir, listIndexedRegistries, readRegistryLeniently, type IndexedRegistry } from '../io/machine-index';

const RECHECK_MS = 250;
const CONFIG_FILES = ['.portsrc.json', '.portsrc'];

function statKey(file: string): string {
  try {
    const s = fs.statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return '-';
  }
}

/** Declared services in config order, from a JSON config in the repository's main worktree. */
function serviceOrder(repo: string): string[] | undefined {
  for (const name of CONFIG_FILES) {
    try {
      const data = JSON.parse(fs.readFileSync(path.join(repo, name), 'utf8')) as { services?: unknown };
      if (data && typeof data.services === 'object' && data.services !== null) return Object.keys(data.services);
    } catch {
      // missing or not JSON (YAML, JS): the registry's order stands in
    }
  }
  return undefined;
}

function sourcesOf(entries: IndexedRegistry[]): RouteSource[] {
  const sources: RouteSource[] = [];
  for (const e of entries) {
    const allocations = readRegistryLeniently(e.registry);
    if (!allocations) continue;
    sources.push({ repoName: e.name || path.basename(e.repo), repo: e.repo, registry: e.registry, allocations, serviceOrder: serviceOrder(e.repo) });
  }
  return sources;
}

/** The table as it is now, read once (for `ports url`). */
export function loadRoutingTable(env: NodeJS.ProcessEnv): RoutingTable {
  return buildRoutingTable(sourcesOf(listIndexedRegistries(env)));
}

export class LiveRoutes {
  private table: RoutingTable = { routes: [] };
  private signature = '';
  private checkedAt = 0;
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private readonly listeners = new Set<(table: RoutingTable) => void>();
  private readonly timer: NodeJS.Timeout;
  private version = 0;

  constructor(private readonly env: NodeJS.ProcessEnv) {
    this.refresh(true);
    this.timer = setInterval(() => this.refresh(true), 1000);
    this.timer.unref();
  }

  /** The current table, re-checked if the last check is older than a quarter second. */
  current(): RoutingTable {
    this.refresh(false);
    return this.table;
  }

  /** Bumped on every change of the table: the dashboard's cache key. */
  get generation(): number {
    return this.version;
  }

  onChange(listener: (table: RoutingTable) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    clearInterval(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.listeners.clear();
  }

  private refresh(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.checkedAt < RECHECK_MS) return;
    this.checkedAt = now;
    const dir = indexDir(this.env);
    const entries = listIndexedRegistries(this.env);
    const files = [dir, ...entries.flatMap((e) => [e.registry, ...CONFIG_FILES.map((c) => path.join(e.repo, c))])];
    const signature = entries.map((e) => e.registry).join('\n') + '\n' + files.map(statKey).join(',');
    this.watch([dir, ...entries.map((e) => path.dirname(e.registry))]);
    if (signature === this.signature) return;
    this.signature = signature;
    const table = buildRoutingTable(sourcesOf(entries));
    if (JSON.stringify(table) === JSON.stringify(this.table)) return;
    this.table = table;
    this.version++;
    for (const listener of this.listeners) listener(table);
  }

  private watch(dirs: string[]): void {
    const wanted = new Set(dirs);
    for (const [dir, w] of this.watchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = fs.watch(dir, { persistent: false }, () => setImmediate(() => this.refresh(true)));
        w.on('error', () => {
          w.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, w);
      } catch {
        // not there yet: the periodic re-check covers it, and watches it once it exists
      }
    }
  }
}
