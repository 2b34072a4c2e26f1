/**
 * `ports init [--force]`: create the registry with the default ranges plus the config's, and
 * keep it out of git. Idempotent: on an existing registry it adds missing config ranges only.
 */
import * as path from 'node:path';
import type { Context } from '../context';
import { mergeRanges } from '../core/allocation';
import { emptyRegistry } from '../core/registry-schema';
import { RegistryCorruptError } from '../errors';
import { trackedEnvAdvice, trackedEnvFile } from '../ops/env-sync';
import { keepEnvFileOutOfGit, keepOutOfGit } from '../ops/ignore';
import { recoverFromEnv } from '../ops/rebuild';

export interface InitOptions {
  force: boolean;
}

export async function init(ctx: Context, options: InitOptions): Promise<number> {
  const store = await ctx.store();
  const config = await ctx.config();
  let backup: string | null = null;
  if (options.force) {
    try {
      store.readIfExists();
    } catch (error) {
      if (!(error instanceof RegistryCorruptError)) throw error;
      // --force on an unreadable registry: keep the bad file next to it, then start fresh.
      backup = await store.replace(emptyRegistry(store.stamp(), config.ranges), store.readBytes());
      ctx.out.warn(`${store.file} could not be read; kept it as ${backup} and created a new registry. \`ports doctor --fix\` can rebuild allocations from the worktrees' .env files.`);
    }
  }
  const result = await store.update(
    (registry, tx) => {
      const merged = mergeRanges(registry, config.ranges, options.force);
      if (merged.added.length || merged.updated.length) tx.changed();
      return { created: tx.created, ...merged, ranges: Object.keys(registry.ranges) };
    },
    { create: true, recover: () => recoverFromEnv(ctx) },
  );
  const ignore = await keepOutOfGit(ctx, store.file);
  await keepEnvFileOutOfGit(ctx, config.envFile);
  // With --registry outside any repository there is no worktree, so no env file to look at.
  const repoRoot = (await ctx.repo().catch(() => null))?.worktreeRoot;
  const trackedEnv = repoRoot ? trackedEnvFile(ctx, repoRoot, config.envFile) : null;
  if (ctx.out.json) {
    ctx.out.data({ registry: store.file, created: result.created, ranges_added: result.added, ranges_updated: result.updated, ignored_by: ignore.via, tracked: ignore.tracked, backup });
  } else {
    ctx.out.result(store.file);
    ctx.out.info(
      result.created
        ? `Created the port registry with ranges: ${result.ranges.join(', ')}.`
        : `The port registry already exists${result.added.length ? `; added ranges ${result.added.join(', ')}` : ''}${result.updated.length ? `; updated ranges ${result.updated.join(', ')}` : ''}.`,
    );
    if (ignore.via) ctx.out.info(`Kept out of git via ${path.relative(ctx.cwd, ignore.via) || ignore.via}.`);
  }
  if (ignore.tracked) {
    ctx.out.warn(`${store.file} is tracked by git; each worktree would get its own diverging copy. Run \`git rm --cached ${ignore.relative}\` and commit.`);
  }
  if (trackedEnv) ctx.out.warn(trackedEnvAdvice(trackedEnv));
  return 0;
}
