/**
 * The proxy's routing table and Host-header resolution. Pure: built from the allocations of
 * every indexed registry, it answers "which port does this Host name mean?".
 *
 * Names are DNS labels (README, "Named URLs and the dashboard"): lower-cased, every run of characters
 * other than a-z, 0-9 and `-` becomes one `-`, leading and trailing `-` are dropped, at most 63
 * characters; a name with nothing left is `x`. `Feature_X` → `feature-x`, `v1.2` → `v1-2`.
 */
import { compareText } from './compare';

export const DEFAULT_PROXY_PORT = 7355;

export interface RouteSource {
  /** The repository's short name (its folder name). */
  repoName: string;
  repo: string;
  registry: string;
  allocations: ReadonlyArray<{ port: number; worktree: string; service: string; worktree_path?: string }>;
  /** Declared service names in config order, when the repository's config could be read. */
  serviceOrder?: readonly string[];
}

export interface Route {
  service: string;
  worktree: string;
  repoName: string;
  repo: string;
  port: number;
  worktreePath: string | null;
  /** DNS labels of the three names. */
  serviceLabel: string;
  worktreeLabel: string;
  repoLabel: string;
  /** Whether this is the worktree's first service (what `<worktree>.localhost` reaches). */
  first: boolean;
}

export interface RoutingTable {
  routes: Route[];
}

export type Resolution =
  | { kind: 'dashboard' }
  | { kind: 'route'; route: Route }
  | { kind: 'ambiguous'; name: string; candidates: Route[] }
  | { kind: 'unknown'; name: string }
  | { kind: 'foreign'; reason: string };

export function dnsLabel(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label || 'x';
}

/** Routes in a stable order: repository, worktree, then the worktree's service order. */
export function buildRoutingTable(sources: readonly RouteSource[]): RoutingTable {
  const routes: Route[] = [];
  for (const source of [...sources].sort((a, b) => compareText(a.repoName, b.repoName) || compareText(a.registry, b.registry))) {
    const order = new Map((source.serviceOrder ?? []).map((s, i) => [s, i]));
    const byWorktree = new Map<string, RouteSource['allocations'][number][]>();
    for (const a of source.allocations) {
      if (!a.worktree || !a.service) continue;
      const list = byWorktree.get(a.worktree) ?? [];
      list.push(a);
      byWorktree.set(a.worktree, list);
    }
    for (const worktree of [...byWorktree.keys()].sort()) {
      // Config order when known; the registry's own order otherwise (allocation follows the config).
      const list = (byWorktree.get(worktree) ?? [])
        .map((a, i) => ({ a, i }))
        .sort((x, y) => (order.get(x.a.service) ?? 1e6) - (order.get(y.a.service) ?? 1e6) || x.i - y.i)
        .map((x) => x.a);
      list.forEach((a, i) =>
        routes.push({
          service: a.service,
          worktree,
          repoName: source.repoName,
          repo: source.repo,
          port: a.port,
          worktreePath: a.worktree_path ?? null,
          serviceLabel: dnsLabel(a.service),
          worktreeLabel: dnsLabel(worktree),
          repoLabel: dnsLabel(source.repoName),
          first: i === 0,
        }),
      );
    }
  }
  return { routes };
}

/** `service.worktree.repo.localhost:port`: never ambiguous. */
export function longHost(route: Route, proxyPort: number): string {
  return `${route.serviceLabel}.${route.worktreeLabel}.${route.repoLabel}.localhost${portSuffix(proxyPort)}`;
}

/** The shortest of the forms that names only this route in `table`. */
export function shortestHost(table: RoutingTable, route: Route, proxyPort: number): string {
  const short = `${route.serviceLabel}.${route.worktreeLabel}`;
  const same = table.routes.filter((r) => r.serviceLabel === route.serviceLabel && r.worktreeLabel === route.worktreeLabel);
  return same.length <= 1 ? `${short}.localhost${portSuffix(proxyPort)}` : longHost(route, proxyPort);
}

export function urlOf(host: string): string {
  return `http://${host}/`;
}

function portSuffix(port: number): string {
  return port === 80 ? '' : `:${port}`;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * What a request's Host header names. Only `localhost`, the loopback addresses and names under
 * `.localhost`, on the proxy's own port, are served: anything else (a rebinding domain, another
 * address, another port) is `foreign`.
 */
export function resolveHost(table: RoutingTable, hostHeader: string | undefined, proxyPort: number): Resolution {
  if (!hostHeader) return { kind: 'foreign', reason: 'no Host header' };
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(hostHeader.trim());
  if (!match) return { kind: 'foreign', reason: 'malformed Host header' };
  const host = (match[1] as string).toLowerCase().replace(/\.$/, '');
  const port = match[2] === undefined ? 80 : Number(match[2]);
  if (port !== proxyPort) return { kind: 'foreign', reason: `port ${port} is not this proxy's port` };
  if (LOOPBACK_HOSTS.has(host)) return { kind: 'dashboard' };
  if (!host.endsWith('.localhost')) return { kind: 'foreign', reason: `${host} is not a .localhost name` };
  const labels = host.slice(0, -'.localhost'.length).split('.');
  if (labels.some((l) => !/^[a-z0-9-]{1,63}$/.test(l))) return { kind: 'unknown', name: host };
  let candidates: Route[];
  if (labels.length === 1) candidates = table.routes.filter((r) => r.first && r.worktreeLabel === labels[0]);
  else if (labels.length === 2) candidates = table.routes.filter((r) => r.serviceLabel === labels[0] && r.worktreeLabel === labels[1]);
  else if (labels.length === 3) candidates = table.routes.filter((r) => r.serviceLabel === labels[0] && r.worktreeLabel === labels[1] && r.repoLabel === labels[2]);
  else candidates = [];
  if (candidates.length === 1) return { kind: 'route', route: candidates[0] as Route };
  if (candidates.length === 0) return { kind: 'unknown', name: host };
  return { kind: 'ambiguous', name: host, candidates };
}
