/**
 * Is each allocated service up? Level 1 bind test, level 2 the listening process, level 3 a
 * response (HTTP GET, PostgreSQL SSLRequest, Redis PING or TCP connect, per the service's
 * `health` config). Ports are checked concurrently with a bound, so 100 ports take about one
 * timeout. The outcome is stored (`health_status`, `process_id`) under the registry lock.
 */
import type { Context } from '../context';
import type { HealthConfig, PortsConfig } from '../config/schema';
import { mapBounded } from '../core/bounded';
import { foreignHolder, judgeHealth, type HealthVerdict } from '../core/health-status';
import type { Allocation } from '../core/registry-schema';
import { probeHttp, probePostgres, probeRedis, probeTcp, DEFAULT_PROBE_HOSTS, type ProbeResult } from '../io/health-probes';
import { listPublishedPorts, type PublishedPort } from '../io/docker';
import { findListeners, type Listener } from '../io/listeners';
import { checkPortAvailable } from '../io/port-probe';
import { processStartTime } from '../io/process-info';
import { projectNameFor } from './env-sync';
import { applyReconcile, snapshotForReconcile } from './reconcile';

export const DEFAULT_HEALTH_TIMEOUT_MS = 2000;
/**
 * Enough checks at once that 100 ports take about one timeout (each holds one or two sockets),
 * few enough to stay far below the usual 1024 open-file limit.
 */
export const HEALTH_CONCURRENCY = 128;

export type ProbeType = NonNullable<HealthConfig['type']>;

export interface PortHealth {
  port: number;
  type: ProbeType;
  verdict: HealthVerdict;
  probe: ProbeResult | null;
  listeners: Listener[];
}

/** Web servers and APIs get an HTTP GET unless configured otherwise; everything else a TCP connect. */
export function probeTypeFor(service: string, health: HealthConfig): ProbeType {
  if (health.type) return health.type;
  if (health.path || health.expectStatus !== undefined || health.headers) return 'http';
  return service === 'web' || service === 'api' ? 'http' : 'tcp';
}

function healthConfigOf(config: PortsConfig, service: string): HealthConfig {
  return config.services.find((s) => s.name === service)?.health ?? {};
}

/** Loopback first; then any specific address the service was seen listening on (a LAN-only bind). */
function hostsFor(health: HealthConfig, listeners: readonly Listener[]): string[] {
  if (health.host) return [health.host];
  const hosts = [...DEFAULT_PROBE_HOSTS];
  for (const l of listeners) {
    const address = l.address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
    if (address !== '0.0.0.0' && address !== '::' && !hosts.includes(address)) hosts.push(address);
  }
  return hosts;
}

function runProbe(type: ProbeType, port: number, health: HealthConfig, hosts: string[], timeoutMs: number): Promise<ProbeResult> | null {
  const opts = { hosts, timeoutMs };
  switch (type) {
    case 'none':
      return null;
    case 'http':
      return probeHttp(port, { ...opts, path: health.path, expectStatus: health.expectStatus, headers: health.headers });
    case 'postgres':
      return probePostgres(port, opts);
    case 'redis':
      return probeRedis(port, opts);
    case 'tcp':
      return probeTcp(port, opts);
  }
}

/**
 * Checks the ports of `allocations` (each port once, even when the registry lists it twice).
 * `onProgress` is told how many ports are done.
 */
export async function checkPorts(
  allocations: readonly Allocation[],
  config: PortsConfig,
  options: { timeoutMs?: number; onProgress?: (done: number, total: number) => void; ownership?: Ownership },
): Promise<Map<number, PortHealth>> {
  const byPort = new Map<number, Allocation>();
  for (const a of allocations) if (!byPort.has(a.port)) byPort.set(a.port, a);
  const ports = [...byPort.keys()];
  const listeners = await findListeners(ports);
  let done = 0;
  const results = await mapBounded(ports, HEALTH_CONCURRENCY, async (port): Promise<PortHealth> => {
    const allocation = byPort.get(port)!;
    const health = healthConfigOf(config, allocation.service);
    const type = probeTypeFor(allocation.service, health);
    const mine = listeners.filter((l) => l.port === port);
    const hosts = hostsFor(health, mine);
    const timeoutMs = options.timeoutMs ?? health.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
    // The listener table already proves a busy port; the bind test covers what it cannot see.
    const [bindFree, probe] = await Promise.all([mine.length > 0 ? false : checkPortAvailable(port), runProbe(type, port, health, hosts, timeoutMs)]);
    const own = options.ownership;
    const foreign = own
      ? foreignHolder({
          worktreePath: allocation.worktree_path ?? null,
          knownWorktrees: own.known,
          composeProject: own.projects.get(allocation.worktree_path ?? '') ?? null,
          listeners: mine,
          containers: own.containers?.filter((c) => c.hostPort === port) ?? null,
        })
      : null;
    const verdict = judgeHealth({ port, bindFree, listeners: mine, probe, probedHosts: hosts, foreignHolder: foreign });
    options.onProgress?.(++done, ports.length);
    return { port, type, verdict, probe, listeners: mine };
  });
  return new Map(results.map((r) => [r.port, r]));
}

/** What tells a worktree's own listener from another worktree's or project's. */
interface Ownership {
  known: string[];
  projects: Map<string, string>;
  containers: PublishedPort[] | null;
}

async function gatherOwnership(ctx: Context, all: readonly Allocation[], selected: readonly Allocation[]): Promise<Ownership> {
  const paths = [...new Set(selected.map((a) => a.worktree_path).filter((p): p is string => !!p))];
  const projects = new Map<string, string>();
  for (const root of paths) projects.set(root, await projectNameFor(ctx, root));
  const live = (await snapshotForReconcile(ctx))?.worktrees.filter((w) => !w.bare).map((w) => w.canonicalPath) ?? [];
  return {
    known: [...new Set([...live, ...all.map((a) => a.worktree_path).filter((p): p is string => !!p)])],
    projects,
    containers: await listPublishedPorts({ onSkip: (reason) => ctx.out.debug(`docker: ${reason}`) }),
  };
}

const sameAllocation = (a: Allocation, b: Allocation): boolean =>
  a.port === b.port && a.service === b.service && a.worktree === b.worktree && a.worktree_path === b.worktree_path;

/**
 * Runs the checks for the allocations `select` picks and stores the outcome under the lock.
 * Returns the stored records with their check results. Also the hook for `ports status --check`.
 */
export async function refreshHealth(
  ctx: Context,
  select: (a: Allocation) => boolean,
  options: { timeoutMs?: number } = {},
): Promise<{ allocation: Allocation; health: PortHealth }[]> {
  const store = await ctx.store();
  const config = await ctx.config();
  const selected = store.read().allocations.filter(select);
  if (selected.length === 0) return [];
  const checked = await checkPorts(selected, config, {
    timeoutMs: options.timeoutMs,
    ownership: await gatherOwnership(ctx, store.read().allocations, selected),
    onProgress: (done, total) => ctx.out.progress(`Checking health: ${done}/${total} ports`),
  });
  ctx.out.progress(null);
  const checkedAt = ctx.now().toISOString();
  return store.update(async (registry, tx) => {
    await applyReconcile(registry, tx, 'when-needed', ctx);
    const stored: { allocation: Allocation; health: PortHealth }[] = [];
    for (const allocation of registry.allocations) {
      const health = checked.get(allocation.port);
      if (!health || !selected.some((s) => sameAllocation(s, allocation))) continue;
      const pid = health.verdict.pid;
      allocation.health_status = health.verdict.status;
      allocation.process_id = pid;
      // The start time tells a later reader whether process_id still names the same process.
      allocation.process_start_time = pid === null ? null : processStartTime(pid);
      allocation.health_checked_at = checkedAt;
      tx.changed();
      stored.push({ allocation, health });
    }
    return stored;
  });
}
