/**
 * simple-git for `ports remove`, the handler of worktree removal. The hook, `ports sync` and
 * every other command list worktrees with one direct spawn instead: loading simple-git adds
 * ~8 ms of CPU and ~30 ms of wall time to a run, and those paths are measured on start-up.
 *
 * simple-git 4 drops GIT_DIR, GIT_INDEX_FILE and the other GIT_* variables, and variables such
 * as EDITOR or PAGER that it guards, when it takes them from the process environment; it refuses
 * to run when they are passed to it explicitly. So the process environment is left to it, and
 * only a different environment (library callers) is passed, without those variables.
 */
import type { SimpleGit } from 'simple-git';
import type { Context } from '../context';
import { parseWorktreeList, type LiveWorktree } from './git';

const GUARDED = /^(git_.*|editor|visual|pager|prefix|.*askpass.*)$/i;

async function client(ctx: Context): Promise<SimpleGit> {
  const { simpleGit } = await import('simple-git');
  const git = simpleGit({ baseDir: ctx.cwd });
  if (ctx.env !== process.env) {
    git.env(Object.fromEntries(Object.entries(ctx.env).filter((e): e is [string, string] => e[1] !== undefined && !GUARDED.test(e[0]))));
  }
  return git;
}

export async function listWorktreesViaSimpleGit(ctx: Context): Promise<LiveWorktree[]> {
  return parseWorktreeList(await (await client(ctx)).raw(['worktree', 'list', '--porcelain']));
}

/** `git worktree remove [--force] DIR`; git's reason when it refuses, null when done. */
export async function removeWorktreeViaSimpleGit(ctx: Context, dir: string, force: boolean): Promise<string | null> {
  try {
    await (await client(ctx)).raw(['worktree', 'remove', ...(force ? ['--force'] : []), dir]);
    return null;
  } catch (error) {
    return ((error as Error).message.trim() || 'git worktree remove failed').replace(/^fatal: /, '');
  }
}
