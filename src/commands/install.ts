/**
 * `ports install` / `ports uninstall`: put the post-checkout block in place, or take it out.
 * An existing shell hook gets our block at its top (its own lines kept); a hook in another
 * language, or a symlink, is kept as `post-checkout.ports-chained` and run after ours.
 */
import * as path from 'node:path';
import type { Context } from '../context';
import { installHook, uninstallHook, unwritable, type InstallResult } from '../ops/hook-install';
import { PortsError } from '../errors';
import { keepEnvFileOutOfGit } from '../ops/ignore';
import { ensureMainWorktree } from '../ops/main-worktree';

function report(ctx: Context, result: InstallResult): number {
  if (ctx.out.json) {
    ctx.out.data({ hook: result.location.file, kind: result.location.kind, action: result.action, ...(result.disabled ? { disabled: true } : {}) });
    return 0;
  }
  ctx.out.result(result.location.file);
  const where = { husky: 'husky (.husky/)', 'hooks-path': 'core.hooksPath', common: 'the repository’s hooks folder (shared by all worktrees)' }[result.location.kind];
  const said: Record<InstallResult['action'], string> = {
    installed: `Installed the post-checkout hook in ${where}.`,
    updated: `Updated the ports block of the post-checkout hook in ${where}.`,
    unchanged: `The post-checkout hook in ${where} is already up to date.`,
    chained: `Added ports to the existing post-checkout hook in ${where}; the hook's own commands still run.`,
    removed: `Removed ports from the post-checkout hook in ${where}.`,
    restored: `Removed ports and restored the previous post-checkout hook in ${where}.`,
    absent: `No ports hook to remove in ${where}.`,
  };
  ctx.out.info(said[result.action]);
  if (result.disabled) {
    ctx.out.warn(`${result.location.file} is not executable, so git does not run it; ports left it disabled as it was. Run \`chmod +x ${result.location.file}\` to enable it.`);
  }
  if (result.location.kind === 'husky' && result.action !== 'unchanged') {
    ctx.out.info('Commit .husky/post-checkout so every clone gets it.');
  }
  return 0;
}

export async function install(ctx: Context): Promise<number> {
  const result = await installHook(ctx);
  try {
    await keepEnvFileOutOfGit(ctx, (await ctx.config()).envFile);
  } catch (error) {
    unwritable(error, path.join((await ctx.repo()).commonDir, 'info', 'exclude'));
  }
  const code = report(ctx, result);
  // The main worktree's ports first, so no linked worktree is given the ports its stack runs on.
  const main = await ensureMainWorktree(ctx).catch((error: unknown) => {
    if (!(error instanceof PortsError)) throw error;
    ctx.out.warn(`the hook is installed, but the main worktree holds no ports: ${error.message}${error.hint ? ` ${error.hint}` : ''} Then run \`ports allocate\` there.`);
    return null;
  });
  if (main?.made.length) ctx.out.info(`ports: ${main.owner.worktree}: ${main.made.map((o) => `${o.allocation.service} ${o.allocation.port}`).join(', ')}${main.envFile ? ` → ${main.envFile}` : ''}`);
  return code;
}

export async function uninstall(ctx: Context): Promise<number> {
  return report(ctx, await uninstallHook(ctx));
}
