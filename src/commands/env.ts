/**
 * `ports env [--print]`: rewrite the current worktree's managed .env block from the registry,
 * or print the block. A declared service without an allocation is allocated first (the same
 * ensure as `ports allocate`), so the file is complete.
 */
import * as path from 'node:path';
import type { Context } from '../context';
import { renderEnvBlock } from '../core/env-block';
import { envVarsFor, projectNameFor, syncWorktreeEnv } from '../ops/env-sync';
import { ensureDeclaredServices, worktreeHoldings } from '../ops/ensure';
import { UsageError } from '../errors';

export async function env(ctx: Context, options: { print: boolean }): Promise<number> {
  const config = await ctx.config();
  if (options.print) {
    const { root, held, missing } = await worktreeHoldings(ctx);
    const vars = envVarsFor(held, config, await projectNameFor(ctx, root));
    if (missing.length) ctx.out.warn(`not allocated yet: ${missing.map((s) => s.name).join(', ')} (run \`ports allocate\`)`);
    if (ctx.out.json) ctx.out.data(Object.fromEntries(vars));
    else if (vars.length) ctx.out.result(renderEnvBlock(vars).trimEnd());
    return 0;
  }
  const { root, registry, allocated } = await ensureDeclaredServices(ctx);
  let file = path.resolve(root, config.envFile);
  if (!allocated) {
    if (!registry) throw new UsageError('No services declared and no ports allocated for this worktree.', 'Run `ports allocate SERVICE`, or declare services in .portsrc.json.');
    const store = await ctx.store();
    file = await store.update(async (fresh) => (await syncWorktreeEnv(ctx, fresh, root)).file);
  }
  if (ctx.out.json) ctx.out.data({ file });
  else ctx.out.result(file);
  return 0;
}
