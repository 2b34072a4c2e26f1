/**
 * `ports install` / `ports uninstall`: put the post-checkout block in place, or take it out.
 * An existing shell hook gets our block at its top (its own lines kept); a hook in another
 * language, or a symlink, is kept as `post-checkout.ports-chained` and run after ours.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
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
import { PortsError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import { locateHook, packageRoot, type HookLocation } from '../ops/hooks-location';
import { keepEnvFileOutOfGit } from '../ops/ignore';
import { ensureMainWorktree } from '../ops/main-worktree';

const HOOK = 'post-checkout';

/**
 * Where the hook finds the tool, in order: the main worktree's node_modules copy when the
 * project depends on ports (a new worktree has no node_modules of its own), then the absolute
 * path of the ports that runs this install (a global install or a checkout used on another repo).
 */
export async function toolCandidates(ctx: Context): Promise<string[]> {
  const own = packageRoot();
  const pkg = JSON.parse(fs.readFileSync(path.join(own, 'package.json'), 'utf8')) as { name: string };
  const candidates: string[] = [];
  const repo = await ctx.repo();
  if (repo.mainRoot) {
    try {
      const project = JSON.parse(fs.readFileSync(path.join(repo.mainRoot, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
      const dependsOnUs = ['dependencies', 'devDependencies', 'optionalDependencies'].some((k) => project[k]?.[pkg.name] !== undefined);
      if (dependsOnUs) candidates.push(path.join(repo.mainRoot, 'node_modules', pkg.name, 'bin', 'ports.js'));
    } catch {
      // no package.json in the project: not a Node project, use the absolute path only
    }
  }
  const ownBin = path.join(own, 'bin', 'ports.js');
  if (!candidates.includes(ownBin)) candidates.push(ownBin);
  return candidates;
}

export interface InstallResult {
  location: HookLocation;
  action: 'installed' | 'updated' | 'unchanged' | 'chained' | 'removed' | 'restored' | 'absent';
  candidates?: string[];
}

/** Writes the hook executable; an existing hook keeps its permissions (plus x wherever it is readable). */
function writeExecutable(file: string, content: string, previousMode = 0o755): void {
  const mode = previousMode | ((previousMode & 0o444) >> 2);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, content, { mode });
  fs.chmodSync(file, mode);
}

export async function installHook(ctx: Context): Promise<InstallResult> {
  const location = await locateHook(ctx, HOOK);
  const candidates = await toolCandidates(ctx);
  const template = fs.readFileSync(path.join(packageRoot(), 'hooks', HOOK), 'utf8');
  const block = renderHookBlock(template, candidates, process.execPath);
  const existing = fs.existsSync(location.file) ? fs.readFileSync(location.file, 'utf8') : null;
  // A symlinked hook (often to a script the project tracks) is chained too: editing it would write
  // through the link into that script, and uninstall could not give the link back.
  const symlinked = existing !== null && fs.lstatSync(location.file).isSymbolicLink();
  if (existing !== null && !hasHookBlock(existing) && (symlinked || !isShellScript(existing))) {
    fs.renameSync(location.file, location.file + CHAINED_SUFFIX);
    writeExecutable(location.file, chainWrapper(block, HOOK));
    return { location, action: 'chained', candidates };
  }
  const next = insertHookBlock(existing, block, location.kind === 'husky' ? '#!/usr/bin/env sh' : '#!/bin/sh');
  if (next === existing) return { location, action: 'unchanged', candidates };
  writeExecutable(location.file, next, existing === null ? undefined : fs.statSync(location.file).mode & 0o777);
  return { location, action: existing === null ? 'installed' : hasHookBlock(existing) ? 'updated' : 'chained', candidates };
}

export async function uninstallHook(ctx: Context): Promise<InstallResult> {
  const location = await locateHook(ctx, HOOK);
  if (!fs.existsSync(location.file)) return { location, action: 'absent' };
  const existing = fs.readFileSync(location.file, 'utf8');
  const chained = location.file + CHAINED_SUFFIX;
  if (fs.existsSync(chained) && existing.includes(CHAINED_SUFFIX)) {
    fs.renameSync(chained, location.file);
    return { location, action: 'restored' };
  }
  if (!hasHookBlock(existing)) return { location, action: 'absent' };
  const rest = removeHookBlock(existing);
  if (isLeftoverOfOurs(rest) || isLeftoverOfOurs(rest, '#!/usr/bin/env sh')) fs.rmSync(location.file);
  else writeFileAtomic(location.file, rest, { mode: fs.statSync(location.file).mode & 0o777 });
  return { location, action: 'removed' };
}

function report(ctx: Context, result: InstallResult): number {
  if (ctx.out.json) {
    ctx.out.data({ hook: result.location.file, kind: result.location.kind, action: result.action, candidates: result.candidates ?? [] });
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
  if (result.candidates) ctx.out.debug(`the hook runs the first of: ${result.candidates.join(', ')}`);
  if (result.location.kind === 'husky' && result.action !== 'unchanged') {
    ctx.out.info('Commit .husky/post-checkout so every clone gets it.');
  }
  return 0;
}

export async function install(ctx: Context): Promise<number> {
  const result = await installHook(ctx);
  await keepEnvFileOutOfGit(ctx, (await ctx.config()).envFile);
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
