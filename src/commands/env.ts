/**
 * `ports env [--print]`: rewrite the current worktree's managed .env block from the registry,
 * or print the block. A declared service without an allocation is allocated first (the same
 * ensure as `ports allocate`), so the file is complete.
 */
import type { Context } from '../context';
import { ownsAllocation } from '../core/allocation';
import { renderEnvBlock } from '../core/env-block';
import { envVarsFor, projectNameFor, syncWorktreeEnv } from '../ops/env-sync';
import { ensureAllocations } from '../ops/ensure';
import { resolveOwner } from '../ops/owner';
import { UsageError } from '../errors';

export async function env(ctx: Context, options: { print: boolean }): Promise<number> {
  const config = await ctx.config();
  const owner = await resolveOwner(ctx, undefined, null);
  const root = owner.worktreePath as string;
  const store = await ctx.store();
  const registry = store.readIfExists();
  const held = registry?.allocations.filter((a) => ownsAllocation(owner, a)) ?? [];
  const missing = config.services.filter((s) => !held.some((a) => a.service === s.name));
  if (options.print) {
    const vars = envVarsFor(held, config, await projectNameFor(ctx, root));
    if (missing.length) ctx.out.warn(`not allocated yet: ${missing.map((s) => s.name).join(', ')} (run \`ports allocate\`)`);
    if (ctx.out.json) ctx.out.data(Object.fromEntries(vars));
    else if (vars.length) ctx.out.result(renderEnvBlock(vars).trimEnd());
    return 0;
  }
  let file: string;
  if (missing.length) {
    file = (await ensureAllocations(ctx, { owner, services: config.services.map((s) => ({ name: s.name, description: s.description })) })).envFile ?? root;
  } else {
    if (!registry) throw new UsageError('No services declared and no ports allocated for this worktree.', 'Run `ports allocate SERVICE`, or declare services in .portsrc.json.');
    file = await store.update(async (fresh) => (await syncWorktreeEnv(ctx, fresh, root)).file);
  }
  if (ctx.out.json) ctx.out.data({ file });
  else ctx.out.result(file);
  return 0;
}
