/**
 * `ports url [SERVICE] [--worktree NAME]`: the worktree's named URLs through `ports proxy`:
 * `http://<service>.<worktree>.localhost:PORT/`, and `http://<worktree>.localhost:PORT/` for its
 * first service. When another repository has a worktree of the same name, the long form
 * `<service>.<worktree>.<repo>.localhost` is printed instead. PORT is the running proxy's, else
 * the configured one. With SERVICE, only that URL (for `$(ports url web)`).
 */
import * as path from 'node:path';
import type { Context } from '../context';
import { dnsLabel, shortestHost, urlOf } from '../core/proxy-routes';
import type { Allocation } from '../core/registry-schema';
import { ExitCode, NotFoundError } from '../errors';
import { runningProxy } from '../io/proxy-pid';
import { loadRoutingTable } from '../ops/live-routes';
import { proxyPortFor } from '../ops/proxy-port';
import { renderTable } from '../output';

export interface UrlOptions {
  service?: string;
  worktree?: string;
}

async function worktreeAllocations(ctx: Context, worktree: string | undefined): Promise<{ name: string; held: Allocation[] }> {
  const registry = (await ctx.store()).read();
  if (worktree !== undefined) return { name: worktree, held: registry.allocations.filter((a) => a.worktree === worktree) };
  const root = (await ctx.repo()).worktreeRoot;
  return { name: root ? path.basename(root) : '', held: registry.allocations.filter((a) => root !== null && a.worktree_path === root) };
}

export async function url(ctx: Context, options: UrlOptions): Promise<number> {
  const { name, held } = await worktreeAllocations(ctx, options.worktree);
  if (!held.length) throw new NotFoundError(`The worktree ${name || '(none)'} has no ports, so it has no URLs.`, 'Run `ports allocate` in it first (or name another with --worktree NAME).');
  const config = await ctx.config();
  const order = new Map(config.services.map((s, i) => [s.name, i]));
  const sorted = [...held].sort((a, b) => (order.get(a.service) ?? 1e6) - (order.get(b.service) ?? 1e6));
  const running = runningProxy(ctx.env);
  const proxyPort = running?.port ?? (await proxyPortFor(ctx, undefined));
  const table = loadRoutingTable(ctx.env);
  const registryFile = (await ctx.store()).file;
  const rows = sorted.map((a) => {
    // The machine's table knows whether the short name is shared with another repository.
    const route = table.routes.find((r) => r.service === a.service && r.worktree === a.worktree && r.port === a.port);
    const host = route ? shortestHost(table, route, proxyPort) : `${dnsLabel(a.service)}.${dnsLabel(a.worktree)}.localhost:${proxyPort}`;
    return { service: a.service, port: a.port, url: urlOf(host) };
  });
  ctx.out.debug(`registry ${registryFile}; proxy port ${proxyPort}${running ? ` (running, PID ${running.pid})` : ' (not running)'}`);
  const selected = options.service === undefined ? rows : rows.filter((r) => r.service === options.service);
  if (!selected.length) {
    throw new NotFoundError(`The worktree ${name} has no port for the service "${options.service}".`, `Its services: ${rows.map((r) => r.service).join(', ')}.`);
  }
  if (ctx.out.json) ctx.out.data(selected);
  else if (options.service !== undefined || ctx.out.quiet) for (const r of selected) ctx.out.result(r.url);
  else {
    for (const line of renderTable(['SERVICE', 'PORT', 'URL'], selected.map((r) => [r.service, String(r.port), r.url]))) ctx.out.result(line);
    const first = table.routes.find((r) => r.first && r.worktree === sorted[0]?.worktree && r.port === sorted[0]?.port);
    const short = first && table.routes.filter((r) => r.first && r.worktreeLabel === first.worktreeLabel).length === 1;
    if (short) ctx.out.result(`${urlOf(`${first.worktreeLabel}.localhost:${proxyPort}`)} (${first.service})`);
  }
  if (!running) ctx.out.info('ports proxy is not running: start it with `ports proxy --background`.');
  return ExitCode.ok;
}
