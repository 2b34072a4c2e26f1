/**
 * Replace a file so that readers see either the old or the new content, never a half-written
 * one, and a crash leaves the old file in place. The temp file's name carries our PID so that
 * the registry store's `leftovers()` can find (and remove) what a killed writer left.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the result; default: the existing file's mode, else the usual 0o666 & ~umask. */
  mode?: number;
  /**
   * fsync the file and its folder (default true): the registry's allocations must survive a
   * power cut. A worktree's .env is regenerated from the registry, so it skips the two syncs.
   */
  durable?: boolean;
}

let counter = 0;

export function atomicTempName(file: string): string {
  // PID (for leftovers), then a per-process counter and time: unique without loading node:crypto.
  return path.join(path.dirname(file), `${path.basename(file)}.${process.pid}.${(++counter).toString(36)}${Date.now().toString(36)}.tmp`);
}

/**
 * What atomicTempName appends to a file's name, as a regular-expression source whose one group
 * is the writer's PID. The one definition every finder of leftovers matches against, so a
 * change of the name cannot leave a finder behind.
 */
export const TEMP_SUFFIX_PATTERN = '\\.(\\d+)\\.[0-9a-z]+\\.tmp';

export function writeFileAtomic(file: string, data: string, options: AtomicWriteOptions = {}): void {
  const target = resolveSymlink(file);
  const mode = options.mode ?? existingMode(target);
  const tmp = atomicTempName(target);
  try {
    const fd = fs.openSync(tmp, 'wx', mode ?? 0o666);
    try {
      fs.writeFileSync(fd, data);
      // open() applies the umask; an explicit or inherited mode must survive it.
      if (mode !== undefined) fs.fchmodSync(fd, mode);
      if (options.durable !== false) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (error) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // Never created, or already renamed: nothing to clean up.
    }
    throw error;
  }
  if (options.durable !== false) fsyncDirectory(path.dirname(target));
}

/** Write through a symlinked registry to its target instead of replacing the link with a file. */
function resolveSymlink(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

function existingMode(file: string): number | undefined {
  try {
    return fs.statSync(file).mode & 0o7777;
  } catch {
    return undefined;
  }
}

/** Makes the rename itself durable; platforms that cannot fsync a directory (Windows) skip it. */
function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // EISDIR/EPERM/EINVAL on some platforms: the data is already fsynced, only the rename's durability is weaker.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
