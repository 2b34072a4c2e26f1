/**
 * What the dashboard shows: every route grouped by repository and worktree, with health (a TCP
 * connect to 127.0.0.1 and ::1), the listening process and the publishing container. Probes run
 * with bounded concurrency and are cached for two seconds, so an open dashboard costs little.
 */
import { mapBounded } from '../core/bounded';
import { longHost, shortestHost, urlOf, type RoutingTable } from '../core/proxy-routes';
import { listPublishedPorts, type PublishedPort } from '../io/docker';
import { findListeners, type Listener } from '../io/listeners';
import { canConnect } from '../io/port-probe';

const CACHE_MS = 2000;
// A stopped service refuses at once; the timeout only bounds a hung one. 300 ms was too short on
// a loaded machine, where the event loop itself can lag that long and call a running app down.
const CONNECT_TIMEOUT_MS = 1000;
const PROBE_CONCURRENCY = 8;

export interface DashboardService {
  service: string;
  port: number;
  url: string;
  longUrl: string;
  health: 'up' | 'down';
  holder: { pid: number | null; command: string | null } | null;
  container: string | null;
}

export interface DashboardSnapshot {
  proxyPort: number;
  repos: { name: string; repo: string; worktrees: { name: string; path: string | null; services: DashboardService[] }[] }[];
}

export class DashboardData {
  private health = new Map<number, { up: boolean; at: number }>();
  private holders: { at: number; ports: string; list: Listener[] } | null = null;
  private containers: { at: number; list: PublishedPort[] | null } | null = null;
  private fetching: Promise<PublishedPort[] | null> | null = null;

  constructor(private readonly proxyPort: number) {}

  async snapshot(table: RoutingTable): Promise<DashboardSnapshot> {
    const ports = [...new Set(table.routes.map((r) => r.port))];
    const [up, listeners, published] = await Promise.all([this.probe(ports), this.listeners(ports), this.published()]);
    const repos: DashboardSnapshot['repos'] = [];
    for (const route of table.routes) {
      let repo = repos.find((r) => r.repo === route.repo);
      if (!repo) repos.push((repo = { name: route.repoName, repo: route.repo, worktrees: [] }));
      let worktree = repo.worktrees.find((w) => w.name === route.worktree);
      if (!worktree) repo.worktrees.push((worktree = { name: route.worktree, path: route.worktreePath, services: [] }));
      const holder = listeners.find((l) => l.port === route.port);
      const container = (published ?? []).find((p) => p.hostPort === route.port);
      worktree.services.push({
        service: route.service,
        port: route.port,
        url: urlOf(shortestHost(table, route, this.proxyPort)),
        longUrl: urlOf(longHost(route, this.proxyPort)),
        health: up.get(route.port) ? 'up' : 'down',
        holder: holder ? { pid: holder.pid, command: holder.command } : null,
        container: container ? container.containerName : null,
      });
    }
    return { proxyPort: this.proxyPort, repos };
  }

  private async probe(ports: number[]): Promise<Map<number, boolean>> {
    const now = Date.now();
    const stale = ports.filter((p) => (this.health.get(p)?.at ?? 0) + CACHE_MS <= now);
    await mapBounded(stale, PROBE_CONCURRENCY, async (port) => {
      const up = (await canConnect(port, '127.0.0.1', CONNECT_TIMEOUT_MS)) || (await canConnect(port, '::1', CONNECT_TIMEOUT_MS));
      this.health.set(port, { up, at: Date.now() });
    });
    return new Map(ports.map((p) => [p, this.health.get(p)?.up ?? false]));
  }

  private async listeners(ports: number[]): Promise<Listener[]> {
    const key = ports.join(',');
    if (this.holders && this.holders.ports === key && this.holders.at + CACHE_MS > Date.now()) return this.holders.list;
    let list: Listener[] = [];
    try {
      list = await findListeners(ports);
    } catch {
      // no listener lookup on this platform: the column stays empty
    }
    this.holders = { at: Date.now(), ports: key, list };
    return list;
  }

  /** `docker ps` takes a while: a stale list is served at once while a fresh one is fetched. */
  private async published(): Promise<PublishedPort[] | null> {
    const fresh = this.containers && this.containers.at + CACHE_MS > Date.now();
    if (!fresh && !this.fetching) {
      this.fetching = listPublishedPorts()
        .catch(() => null) // Docker absent or failing: no container column, never an error
        .then((list) => {
          this.containers = { at: Date.now(), list };
          this.fetching = null;
          return list;
        });
    }
    if (this.containers) return this.containers.list;
    return this.fetching as Promise<PublishedPort[] | null>;
  }
}
