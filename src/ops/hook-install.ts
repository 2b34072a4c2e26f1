/**
 * Puts the post-checkout block in place, or takes it out. An existing shell hook gets our block
 * at its top (its own lines kept); a hook in another language, or a symlink, is kept as
 * `post-checkout.ports-chained` and run after ours.
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
import { locateHook, packageRoot, type HookLocation } from './hooks-location';

const HOOK = 'post-checkout';

export interface InstallResult {
  location: HookLocation;
  action: 'installed' | 'updated' | 'unchanged' | 'chained' | 'removed' | 'restored' | 'absent';
  /** The hook file exists but is not executable: git does not run it, and ports left it so. */
  disabled?: boolean;
}

/** A folder or file ports may not write (read-only hooks folder, `.git/info`): exit 1 with what to do. */
export function unwritable(error: unknown, file: string): never {
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
