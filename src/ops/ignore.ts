/**
 * The registry must stay untracked (a committed copy diverges per worktree), and so must the
 * .env files the tool writes (an untracked .env makes `git worktree remove` refuse). Their
 * patterns go into the common `info/exclude`, which every worktree shares and which changes no
 * tracked file. Done at set-up (init, install, the registry's creation), not on every run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import { runGit } from '../io/git';

export interface IgnoreResult {
  /** The exclude file written to, or null when nothing was needed. */
  via: string | null;
  tracked: boolean;
  relative: string;
}

function appendExcludes(commonDir: string, lines: string[], why: string): string | null {
  const exclude = path.join(commonDir, 'info', 'exclude');
  fs.mkdirSync(path.dirname(exclude), { recursive: true });
  const current = fs.existsSync(exclude) ? fs.readFileSync(exclude, 'utf8') : '';
  const have = new Set(current.split('\n'));
  const additions = lines.filter((l) => !have.has(l));
  if (additions.length === 0) return null;
  const prefix = current === '' || current.endsWith('\n') ? '' : '\n';
  fs.appendFileSync(exclude, `${prefix}# ${why}\n${additions.join('\n')}\n`);
  return exclude;
}

const globEscape = (p: string) => p.replace(/([*?[\]!#\\])/g, '\\$1');

/** Excludes the worktrees' env file (`/.env` in every worktree) unless git already ignores or tracks it. */
export async function keepEnvFileOutOfGit(ctx: Context, envFile: string): Promise<string | null> {
  let repo;
  try {
    repo = await ctx.repo();
  } catch {
    return null;
  }
  const root = repo.worktreeRoot ?? repo.mainRoot;
  if (!root) return null;
  const posix = envFile.split(path.sep).join('/');
  if (runGit(['ls-files', '--error-unmatch', '--', posix], root, ctx.env).status === 0) return null; // tracked: the user's choice
  if (runGit(['check-ignore', '-q', '--no-index', '--', posix], root, ctx.env).status === 0) return null;
  return appendExcludes(repo.commonDir, [`/${globEscape(posix)}`], 'env files written by ports (one per worktree)');
}

export async function keepOutOfGit(ctx: Context, registryFile: string): Promise<IgnoreResult> {
  let repo;
  try {
    repo = await ctx.repo();
  } catch {
    return { via: null, tracked: false, relative: registryFile };
  }
  const root = repo.mainRoot;
  if (!root) return { via: null, tracked: false, relative: registryFile };
  const relative = path.relative(root, registryFile);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return { via: null, tracked: false, relative: registryFile };
  const posix = relative.split(path.sep).join('/');
  const tracked = runGit(['ls-files', '--error-unmatch', '--', posix], root, ctx.env).status === 0;
  const ignored = runGit(['check-ignore', '-q', '--no-index', '--', posix], root, ctx.env).status === 0;
  if (ignored) return { via: null, tracked, relative: posix };
  const line = `/${globEscape(posix)}`;
  const via = appendExcludes(repo.commonDir, [line, `${line}.lock*`, `${line}.*.tmp`, `${line}.corrupt-*`], 'ports registry (shared by all worktrees; must not be committed)');
  return { via: via ?? path.join(repo.commonDir, 'info', 'exclude'), tracked, relative: posix };
}
