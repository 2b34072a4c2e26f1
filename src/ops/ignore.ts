/**
 * The registry must stay untracked (a committed copy diverges per worktree). When it lives
 * inside the main worktree, its path goes into the common `info/exclude`, which every worktree
 * shares and which changes no tracked file.
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
  const exclude = path.join(repo.commonDir, 'info', 'exclude');
  fs.mkdirSync(path.dirname(exclude), { recursive: true });
  const current = fs.existsSync(exclude) ? fs.readFileSync(exclude, 'utf8') : '';
  const line = `/${posix.replace(/([*?[\]!#\\])/g, '\\$1')}`;
  const lockLine = `${line}.lock*`;
  const additions = [line, lockLine, `${line}.*.tmp`].filter((l) => !current.split('\n').includes(l));
  if (additions.length) {
    const prefix = current === '' || current.endsWith('\n') ? '' : '\n';
    fs.appendFileSync(exclude, `${prefix}# ports registry (shared by all worktrees; must not be committed)\n${additions.join('\n')}\n`);
  }
  return { via: exclude, tracked, relative: posix };
}
