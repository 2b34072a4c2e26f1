/**
 * Where the post-checkout hook goes. Husky (a `.husky/` folder, or core.hooksPath pointing into
 * one): `.husky/post-checkout` of the worktree git runs from — husky's relative hooksPath is
 * resolved per worktree, and `git worktree add` runs the hook of the worktree it was started in.
 * A custom core.hooksPath: that folder. Otherwise the common hooks dir every worktree shares.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import { runGit } from '../io/git';

export interface HookLocation {
  kind: 'husky' | 'hooks-path' | 'common';
  /** The hook file to edit. */
  file: string;
  dir: string;
}

export async function locateHook(ctx: Context, hookName = 'post-checkout'): Promise<HookLocation> {
  const repo = await ctx.repo();
  const root = repo.worktreeRoot ?? repo.mainRoot;
  const configured = runGit(['config', '--get', 'core.hooksPath'], ctx.cwd, ctx.env).stdout.trim();
  const huskyDir = root ? path.join(root, '.husky') : null;
  if ((configured && /(^|[\\/])\.husky([\\/]|$)/.test(configured)) || (huskyDir && fs.existsSync(huskyDir) && !configured)) {
    // husky 9 points core.hooksPath at `.husky/_` (generated stubs); the user's hooks live in `.husky/`.
    const dir = configured && path.isAbsolute(configured) ? configured.replace(/[\\/]_[\\/]?$/, '') : (huskyDir as string);
    return { kind: 'husky', dir, file: path.join(dir, hookName) };
  }
  if (configured) {
    const dir = path.resolve(root ?? repo.commonDir, configured.replace(/^~(?=$|\/)/, process.env.HOME ?? '~'));
    return { kind: 'hooks-path', dir, file: path.join(dir, hookName) };
  }
  const dir = path.join(repo.commonDir, 'hooks');
  return { kind: 'common', dir, file: path.join(dir, hookName) };
}

/** The package's own root (where package.json and bin/ live), found from this module's location. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'hooks', 'post-checkout'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ports package root above ${__dirname}`);
    dir = parent;
  }
}

/**
 * Whether the hook block would find the tool, by the same lookup it makes at run time: the main
 * worktree's node_modules/worktree-ports, then `worktree-ports` or `ports` on PATH.
 */
export function hookFindsTool(mainRoot: string | null, env: NodeJS.ProcessEnv): boolean {
  if (mainRoot && fs.existsSync(path.join(mainRoot, 'node_modules', 'worktree-ports', 'bin', 'ports.js'))) return true;
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return dirs.some((dir) => ['worktree-ports', 'ports'].some((name) => fs.existsSync(path.join(dir, name))));
}
