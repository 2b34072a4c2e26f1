/**
 * `ports hook post-checkout OLD NEW FLAG`: what the installed hook runs. Hooks never break git:
 * every failure becomes a warning and exit 0, unless PORTS_STRICT=1; PORTS=0 skips everything.
 *
 * - A new linked worktree (old ref all zeros, flag 1, git dir ≠ common dir): allocate every
 *   declared service and write the .env.
 * - Any other branch checkout in a worktree that lacks some declared allocation (a linked one
 *   added with --no-checkout, the main one after a clone): the same ensure, idempotent, and no
 *   lock when nothing is missing.
 * - A bare repository: nothing to allocate; only the cheap reconcile.
 *
 * Afterwards, when the worktree holds everything it declares, the fingerprint the shell hook
 * passed (PORTS_HOOK_FINGERPRINT) goes into a stamp in its git dir: the next branch switch
 * under the same config is decided in shell and starts no Node (ops/hook-stamp.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import { planReconcile } from '../core/reconcile';
import { PortsError, UsageError } from '../errors';
import { readWorktreeEnv } from '../io/env-file';
import { envVarsFor, projectNameFor } from '../ops/env-sync';
import { ensureAllocations, worktreeHoldings } from '../ops/ensure';
import { writeHookStamp } from '../ops/hook-stamp';
import { resolveOwner } from '../ops/owner';
import { applyReconcile, snapshotForReconcile, worktreesMayHaveVanished } from '../ops/reconcile';

const ZERO_REF = /^0+$/;

export interface HookOptions {
  name: string;
  args: string[];
}

export async function hook(ctx: Context, options: HookOptions): Promise<number> {
  if (ctx.env.PORTS === '0') return 0;
  const strict = ctx.env.PORTS_STRICT === '1';
  try {
    if (options.name !== 'post-checkout') throw new UsageError(`Unknown hook "${options.name}".`, 'ports installs only post-checkout; run `ports install` again.');
    if (await postCheckout(ctx, options.args)) await stampEnsured(ctx);
    return 0;
  } catch (error) {
    const message = error instanceof PortsError ? `${error.message}${error.hint ? ` ${error.hint}` : ''}` : String((error as Error)?.stack ?? error);
    ctx.out.warn(`post-checkout hook: ${message}${strict ? '' : ' (git continues; PORTS_STRICT=1 makes this fail)'}`);
    if (!strict) return 0;
    return error instanceof PortsError ? error.exitCode : 1;
  }
}

/** Returns true when the worktree now holds all it declares (or has nothing to hold). */
async function postCheckout(ctx: Context, args: string[]): Promise<boolean> {
  const [oldRef = '', , flag = ''] = args;
  if (flag !== '1') return false; // a file checkout (`git checkout -- FILE`): nothing to do
  const repo = await ctx.repo();
  const config = await ctx.config();
  // The main worktree holds its ports like any other (see ops/main-worktree.ts); only a bare repository has none.
  if (!repo.worktreeRoot) {
    await reconcileIfNeeded(ctx);
    return true;
  }
  if (config.services.length === 0) {
    ctx.out.debug('no services declared in the ports config; nothing to allocate');
    await reconcileIfNeeded(ctx);
    return true;
  }
  const isNewWorktree = ZERO_REF.test(oldRef);
  if (!isNewWorktree && (await alreadyComplete(ctx))) return true;
  const owner = await resolveOwner(ctx, undefined, null);
  const result = await ensureAllocations(ctx, {
    owner,
    services: config.services.map((s) => ({ name: s.name, description: s.description })),
  });
  const made = result.outcomes.filter((o) => o.created);
  if (made.length) {
    ctx.out.info(`ports: ${owner.worktree}: ${made.map((o) => `${o.allocation.service} ${o.allocation.port}`).join(', ')}${result.envFile ? ` → ${result.envFile}` : ''}`);
  }
  return result.outcomes.length === config.services.length;
}

async function stampEnsured(ctx: Context): Promise<void> {
  const fingerprint = ctx.env.PORTS_HOOK_FINGERPRINT;
  if (!fingerprint) return;
  const repo = await ctx.repo();
  const config = await ctx.config();
  // The main worktree holds ports too (ops/main-worktree.ts), so only a bare repository or a
  // config without services stamps nothing to check.
  if (!repo.worktreeRoot || config.services.length === 0) {
    writeHookStamp(repo.gitDir, fingerprint, null, null); // holds nothing: only the config can change that
    return;
  }
  // The hook also checks that the registry and the env file are still there.
  const registryFile = (await ctx.store()).file;
  const envFile = path.resolve(repo.worktreeRoot, config.envFile);
  if (fs.existsSync(registryFile)) writeHookStamp(repo.gitDir, fingerprint, registryFile, fs.existsSync(envFile) ? envFile : null);
}

/** True when every declared service is allocated and the .env block already says so: no lock needed. */
async function alreadyComplete(ctx: Context): Promise<boolean> {
  const { root, registry, held, missing } = await worktreeHoldings(ctx);
  if (!registry || missing.length) return false;
  const config = await ctx.config();
  const expected = envVarsFor(held, config, await projectNameFor(ctx, root));
  const current = readWorktreeEnv(root, config.envFile).vars;
  if (!current || current.size !== expected.length) return false;
  if (!expected.every(([k, v]) => current.get(k) === v)) return false;
  return !worktreesMayHaveVanished(registry);
}

/** Reclaims ports of vanished worktrees, taking the lock only when there is something to take back. */
async function reconcileIfNeeded(ctx: Context): Promise<void> {
  const store = await ctx.store();
  const registry = store.readIfExists();
  if (!registry || !worktreesMayHaveVanished(registry)) return;
  const snapshot = await snapshotForReconcile(ctx);
  if (!snapshot || planReconcile(registry.allocations, snapshot.facts).release.length === 0) return;
  await store.update((fresh, tx) => applyReconcile(fresh, tx, snapshot, ctx));
}
