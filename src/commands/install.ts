/**
 * `ports install` / `ports uninstall`: put the post-checkout block in place, or take it out.
 * An existing shell hook gets our block at its top (its own lines kept); a hook in another
 * language, or a symlink, is kept as `post-checkout.ports-chained` and run after ours.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import { ExitCode, PortsError } from '../errors';
import {
  CHAINED_SUFFIX,
  chainWrapper,
  hasHookBlock,
  insertHookBlock,
  isLeftoverOfOurs,
  isShellScript,
  removeHookBlock,
  renderHookBlock,
} from '../core/hook-script';
import { writeFileAtomic } from '../io/atomic-write';
import { locateHook, packageRoot, type HookLocation } from '../ops/hooks-location';
import { keepEnvFileOutOfGit } from '../ops/ignore';

const HOOK = 'post-checkout';

export interface InstallResult {
  location: HookLocation;
  action: 'installed' | 'updated' | 'unchanged' | 'chained' | 'removed' | 'restored' | 'absent';
  /** The hook file exists but is not executable: git does not run it, and ports left it so. */
  disabled?: boolean;
}

/** A folder or file ports may not write (read-only hooks folder, `.git/info`): exit 1 with what to do. */
function unwritable(error: unknown, file: string): never {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    throw new PortsError(`Cannot write ${file}: ${code === 'EROFS' ? 'the file system is read-only' : 'permission denied'}.`, {
      exitCode: ExitCode.usage,
      hint: `Make ${path.dirname(file)} writable for you (or run this as its owner), then run the command again.`,
      cause: error,
    });
  }
  throw error;
}

function writeHookFile(file: string, content: string, mode: number): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, content, { mode });
  } catch (error) {
    unwritable(error, file);
  }
}

const isExecutable = (mode: number) => (mode & 0o100) !== 0;

/** `enable`: make a disabled hook executable (doctor --fix, which the user asked to repair it). */
export async function installHook(ctx: Context, options: { enable?: boolean } = {}): Promise<InstallResult> {
  const location = await locateHook(ctx, HOOK);
  const template = fs.readFileSync(path.join(packageRoot(), 'hooks', HOOK), 'utf8');
  const block = renderHookBlock(template);
  const existing = fs.existsSync(location.file) ? fs.readFileSync(location.file, 'utf8') : null;
  // An existing hook keeps its mode: one the user disabled (not executable) stays disabled.
  // Husky runs its hooks with sh whatever their mode.
  const kept = existing === null ? 0o755 : fs.statSync(location.file).mode & 0o777;
  const mode = options.enable ? kept | ((kept & 0o444) >> 2) : kept;
  const disabled = location.kind !== 'husky' && existing !== null && !isExecutable(mode);
  // A symlinked hook (often to a script the project tracks) is chained too: editing it would write
  // through the link into that script, and uninstall could not give the link back.
  const symlinked = existing !== null && fs.lstatSync(location.file).isSymbolicLink();
  if (existing !== null && !hasHookBlock(existing) && (symlinked || !isShellScript(existing))) {
    try {
      fs.renameSync(location.file, location.file + CHAINED_SUFFIX);
    } catch (error) {
      unwritable(error, location.file);
    }
    writeHookFile(location.file, chainWrapper(block, HOOK), mode);
    return { location, action: 'chained', disabled };
  }
  // A wrapper we wrote around a chained hook is rewritten whole, so an older one gets the current tail too.
  const isOurWrapper = existing !== null && hasHookBlock(existing) && existing.includes(CHAINED_SUFFIX) && fs.existsSync(location.file + CHAINED_SUFFIX);
  const next = isOurWrapper ? chainWrapper(block, HOOK) : insertHookBlock(existing, block, location.kind === 'husky' ? '#!/usr/bin/env sh' : '#!/bin/sh');
  if (next === existing) {
    if (mode !== kept) fs.chmodSync(location.file, mode);
    return { location, action: mode !== kept ? 'updated' : 'unchanged', disabled };
  }
  writeHookFile(location.file, next, mode);
  return { location, action: existing === null ? 'installed' : hasHookBlock(existing) ? 'updated' : 'chained', disabled };
}

export async function uninstallHook(ctx: Context): Promise<InstallResult> {
  const location = await locateHook(ctx, HOOK);
  if (!fs.existsSync(location.file)) return { location, action: 'absent' };
  const existing = fs.readFileSync(location.file, 'utf8');
  const chained = location.file + CHAINED_SUFFIX;
  try {
    if (fs.existsSync(chained) && existing.includes(CHAINED_SUFFIX)) {
      fs.renameSync(chained, location.file);
      return { location, action: 'restored' };
    }
    if (!hasHookBlock(existing)) return { location, action: 'absent' };
    const rest = removeHookBlock(existing);
    if (isLeftoverOfOurs(rest) || isLeftoverOfOurs(rest, '#!/usr/bin/env sh')) fs.rmSync(location.file);
    else writeFileAtomic(location.file, rest, { mode: fs.statSync(location.file).mode & 0o777 });
  } catch (error) {
    unwritable(error, location.file);
  }
  return { location, action: 'removed' };
}

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
  return report(ctx, result);
}

export async function uninstall(ctx: Context): Promise<number> {
  return report(ctx, await uninstallHook(ctx));
}
