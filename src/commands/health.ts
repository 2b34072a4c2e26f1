/**
 * `ports health [--worktree NAME] [--timeout MS]`: is each allocated service up? Runs the checks
 * of ops/health-check, which stores the outcome under the registry lock, and prints them; exit 4
 * when any checked port is not healthy.
 */
import type { Context } from '../context';
import type { Allocation } from '../core/registry-schema';
import { ExitCode, NotFoundError } from '../errors';
import { renderTable } from '../output';
import { refreshHealth, type PortHealth } from '../ops/health-check';
import { compareText } from '../core/compare';

export interface HealthOptions {
  worktree?: string;
  timeoutMs?: number;
}

function pidCell(health: PortHealth): string {
  if (health.verdict.pid !== null) return String(health.verdict.pid);
  return health.verdict.status !== 'not_running' && health.listeners.some((l) => l.pid === null) ? 'hidden' : '-';
}

export async function health(ctx: Context, options: HealthOptions): Promise<number> {
  const store = await ctx.store();
  const registry = store.read();
  const select = (a: Allocation) => options.worktree === undefined || a.worktree === options.worktree;
  if (!registry.allocations.some(select)) {
    if (options.worktree !== undefined) {
      throw new NotFoundError(`Worktree "${options.worktree}" holds no ports.`, 'See every allocation with `ports status --all`.');
    }
    if (ctx.out.json) ctx.out.data([]);
    else ctx.out.info('No ports are allocated; nothing to check.');
    return ExitCode.ok;
  }
  const results = (await refreshHealth(ctx, select, { timeoutMs: options.timeoutMs })).sort(
    (a, b) => a.allocation.port - b.allocation.port || compareText(a.allocation.worktree, b.allocation.worktree),
  );
  const notHealthy = results.filter((r) => r.allocation.health_status !== 'healthy');
  if (ctx.out.json) {
    ctx.out.data(
      results.map(({ allocation, health: h }) => ({
        ...allocation,
        check: { type: h.type, level: h.verdict.level, detail: h.verdict.detail, command: h.verdict.command, host: h.probe?.host ?? null, latency_ms: h.probe?.latencyMs ?? null },
      })),
    );
  } else if (ctx.out.quiet) {
    for (const r of notHealthy) ctx.out.result(String(r.allocation.port));
  } else {
    const colors = { healthy: 'green', unhealthy: 'red', not_running: 'yellow', unknown: 'dim' } as const;
    const rows = results.map(({ allocation: a, health: h }) => [
      String(a.port),
      a.service,
      a.worktree,
      ctx.out.style(colors[a.health_status], a.health_status),
      pidCell(h),
      `${h.type}: ${h.verdict.detail}${h.probe && h.probe.answered ? ` (${h.probe.latencyMs} ms)` : ''}`,
    ]);
    for (const line of renderTable(['PORT', 'SERVICE', 'WORKTREE', 'STATUS', 'PID', 'CHECK'], rows)) ctx.out.result(line);
  }
  if (notHealthy.length === 0) {
    ctx.out.info(`All ${results.length} checked port${results.length === 1 ? ' is' : 's are'} healthy.`);
    return ExitCode.ok;
  }
  const notRunning = notHealthy.filter((r) => r.allocation.health_status === 'not_running').length;
  ctx.out.info(
    `${notHealthy.length} of ${results.length} port${results.length === 1 ? '' : 's'} not healthy` +
      ` (${notRunning} not running, ${notHealthy.length - notRunning} unhealthy).` +
      ' Start what is not running; for a service that runs but shows not_running or unhealthy, check its interface, the timeout (--timeout) and the health settings in your ports config; `ports which PORT` shows who holds a port.',
  );
  return ExitCode.conflict;
}
