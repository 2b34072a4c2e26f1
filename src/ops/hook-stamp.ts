/**
 * The stamp that lets the post-checkout hook skip Node on a branch switch: a small file in the
 * worktree's git dir saying that its ports were ensured under a given config. The hook computes
 * a fingerprint in shell with builtins only (which config files exist, PORTS_REGISTRY), passes
 * it to `ports hook`, and finds it here next time; a config file newer than the stamp, a
 * missing registry or env file, or a release (which deletes the stamp) runs the tool again.
 * Layout (read by hooks/post-checkout, line by line): a header, the registry file, the env file
 * (empty when ports writes none), then the fingerprint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const HOOK_STAMP = 'ports-ensured';
const HEADER = 'worktree-ports stamp 1';

/** The git dir of the worktree at `root` (its `.git` folder, or where its `.git` file points). */
function gitDirOf(root: string): string | null {
  const dotGit = path.join(root, '.git');
  try {
    if (fs.statSync(dotGit).isDirectory()) return dotGit;
    const line = fs.readFileSync(dotGit, 'utf8').split('\n')[0];
    return line.startsWith('gitdir: ') ? path.resolve(root, line.slice('gitdir: '.length)) : null;
  } catch {
    return null;
  }
}

/** `registryFile` and `envFile`: files the hook must still find (null: none). */
export function writeHookStamp(gitDir: string, fingerprint: string, registryFile: string | null, envFile: string | null): void {
  // A path with a newline cannot be one line of the stamp: no stamp, the hook just runs Node.
  if ([registryFile ?? '', envFile ?? ''].some((p) => p.includes('\n'))) return;
  try {
    fs.writeFileSync(path.join(gitDir, HOOK_STAMP), `${HEADER}\n${registryFile ?? ''}\n${envFile ?? ''}\n${fingerprint}\n`);
  } catch {
    // Only a shortcut: without it the next branch switch runs the full hook.
  }
}

/** Forgets that the worktree at `root` holds its ports (after a release). */
export function clearHookStamp(root: string): void {
  const gitDir = gitDirOf(root);
  if (gitDir) fs.rmSync(path.join(gitDir, HOOK_STAMP), { force: true });
}
