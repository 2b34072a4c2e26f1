/**
 * `ports allocate [SERVICE…]`: allocate ports for the current worktree (or --worktree NAME).
 * With no service, every service declared in config — the same ensure the post-checkout hook
 * runs — then the worktree's .env is written.
 */
import type { Context } from '../context';
import { UsageError } from '../errors';
import { renderTable } from '../output';
import { ensureAllocations } from '../ops/ensure';
import { resolveOwner, describeOwner } from '../ops/owner';
import { snapshotForName } from '../ops/reconcile';

export interface AllocateOptions {
  services: string[];
  worktree?: string;
  port?: number;
  description?: string;
}

export async function allocate(ctx: Context, options: AllocateOptions): Promise<number> {
  const config = await ctx.config();
  let services = [...new Set(options.services)].map((name) => ({
    name,
    description: options.description ?? config.services.find((s) => s.name === name)?.description,
  }));
  if (services.length === 0) {
    services = config.services.map((s) => ({ name: s.name, description: options.description ?? s.description }));
    if (services.length === 0) {
      throw new UsageError(
        'No service named and none declared in the ports config.',
        'Name one (`ports allocate web`), or declare the services every worktree gets under "services" in .portsrc.json (see .portsrc.example.json).',
      );
    }
  }
  if (options.port !== undefined && services.length !== 1) {
    throw new UsageError('--port needs exactly one service.', 'Example: `ports allocate api --port 3005`.');
  }
  const snapshot = await snapshotForName(ctx, options.worktree);
  const owner = await resolveOwner(ctx, options.worktree, snapshot === 'when-needed' ? null : snapshot);
  const result = await ensureAllocations(ctx, { owner, services, port: options.port, snapshot });
  const allocations = result.outcomes.map((o) => o.allocation);
  if (ctx.out.json) {
    ctx.out.data(allocations);
  } else if (ctx.out.quiet) {
    for (const a of allocations) ctx.out.result(String(a.port));
  } else {
    const rows = result.outcomes.map((o) => [o.allocation.service, String(o.allocation.port), o.created ? 'allocated' : 'already held', o.allocation.description]);
    for (const line of renderTable(['SERVICE', 'PORT', '', 'DESCRIPTION'], rows)) ctx.out.result(line);
    ctx.out.info(`Worktree: ${describeOwner(owner)}${result.envFile ? `; wrote ${result.envFile}` : ''}`);
  }
  return 0;
}
