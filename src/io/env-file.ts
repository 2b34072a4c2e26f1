/**
 * The worktree's env file on disk: the one place that reads and writes it. Every kind of file a
 * user (or a secret manager) may put at that path is decided here, before anything is opened:
 *
 * - missing: created, holding only the block (deleted again when the block goes);
 * - regular file: the block is merged in and the file replaced atomically; its mode is kept and
 *   every byte outside the block is kept exactly (read as latin1, a byte-for-byte mapping, so
 *   text that is not UTF-8 survives); a read-only file (no write bit) or one with a second hard
 *   link (shared with another path) is refused, never rewritten;
 * - symlink into the worktree (`.env -> .env.development`): followed, the target is treated as
 *   above and the link stays a link — the file belongs to this worktree alone;
 * - symlink out of the worktree, dangling symlink, or a folder on the way that leads out of it:
 *   refused — worktrees sharing one file would read each other's ports and release each
 *   other's blocks;
 * - FIFO, socket, device, folder: refused without being opened (a FIFO would block forever).
 *
 * A refusal is an EnvFileRefusedError (exit 4) that says what to do. Temp files of a killed
 * write (`envTempFilePattern`) are removed by the next write and by `ports doctor --fix`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConflictError, PortsError, ExitCode } from '../errors';
import { blockNamesSetOutside, mergeEnvBlock, parseEnvBlock, type EnvVars } from '../core/env-block';
import { processLiveness } from './process-info';

export interface EnvWriteResult {
  file: string;
  changed: boolean;
  deleted: boolean;
}

/** The env file exists but is of a kind, or in a place, the tool must not read or write. Exit 4. */
export class EnvFileRefusedError extends ConflictError {
  readonly file: string;
  constructor(file: string, reason: string, hint: string) {
    super(`${file} ${reason}; ports leaves it alone.`, hint);
    this.file = file;
  }
}

const MOVE_HINT = 'Point `envFile` in your ports config at a plain file of this worktree (for example `.env.ports`), or replace this path by a regular file; then run `ports env`.';

/** Names of the temp files an env write uses next to FILE: `<name>.<pid>.<unique>.tmp`. */
export function envTempFilePattern(envFileName: string): RegExp {
  return new RegExp(`^${envFileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.[0-9a-z]+\\.tmp$`);
}

let counter = 0;
function envTempFileName(target: string): string {
  return path.join(path.dirname(target), `${path.basename(target)}.${process.pid}.${(++counter).toString(36)}${Date.now().toString(36)}.tmp`);
}

/** Removes the temp files that writers killed mid-write left next to the env file; returns their paths. */
export function removeStaleEnvTempFiles(worktreeRoot: string, envFile: string): string[] {
  const file = path.resolve(worktreeRoot, envFile);
  const pattern = envTempFilePattern(path.basename(file));
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(file));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processLiveness(pid) === 'alive') continue; // a write in progress
    const leftover = path.join(path.dirname(file), name);
    try {
      if (!fs.lstatSync(leftover).isFile()) continue;
      fs.unlinkSync(leftover);
      removed.push(leftover);
    } catch {
      // Gone already, or not ours to remove: the next run tries again.
    }
  }
  return removed;
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function realRoot(worktreeRoot: string): string {
  try {
    return fs.realpathSync(worktreeRoot);
  } catch {
    return path.resolve(worktreeRoot);
  }
}

interface Located {
  /** The path as configured (for messages). */
  file: string;
  /** The file to read and replace: `file`, or the target of a link inside the worktree; null when missing. */
  target: string;
  stat: fs.Stats | null;
}

/** Decides what the configured path is, without opening it. Throws EnvFileRefusedError for what must not be touched. */
function locate(worktreeRoot: string, envFile: string): Located {
  const file = path.resolve(worktreeRoot, envFile);
  const root = realRoot(worktreeRoot);
  let lst: fs.Stats;
  try {
    lst = fs.lstatSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw cannot('read', file, error);
    // Missing: it will be created; the nearest existing folder must still be in the worktree.
    let dir = path.dirname(file);
    while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    if (!isInside(root, realRoot(dir))) throw new EnvFileRefusedError(file, `is in a folder (${dir}) that leads out of the worktree`, MOVE_HINT);
    return { file, target: file, stat: null };
  }
  let target = file;
  let stat = lst;
  if (lst.isSymbolicLink()) {
    try {
      target = fs.realpathSync(file);
      stat = fs.statSync(target);
    } catch {
      throw new EnvFileRefusedError(file, `is a symlink to ${fs.readlinkSync(file)}, which does not exist`, 'Create the file it points to, or delete the link (ports then creates a plain file); then run `ports env`.');
    }
    if (!isInside(root, target)) {
      throw new EnvFileRefusedError(
        file,
        `is a symlink to ${target}, outside this worktree (a file shared with other worktrees would mix their ports)`,
        'Replace the link by a file of this worktree (`cp --remove-destination "$(readlink -f FILE)" FILE`), or point `envFile` in your ports config elsewhere; then run `ports env`.',
      );
    }
  } else if (!isInside(root, realRoot(path.dirname(file)))) {
    throw new EnvFileRefusedError(file, 'is reached through a folder link that leads out of the worktree', MOVE_HINT);
  }
  if (stat.isDirectory()) throw new EnvFileRefusedError(file, 'is a folder, not a file', MOVE_HINT);
  if (!stat.isFile()) throw new EnvFileRefusedError(file, `is a ${kindOf(stat)}, not a regular file (ports never opens it: reading a FIFO can block forever)`, MOVE_HINT);
  return { file, target, stat };
}

function kindOf(stat: fs.Stats): string {
  if (stat.isFIFO()) return 'named pipe (FIFO)';
  if (stat.isSocket()) return 'socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'device';
  return 'special file';
}

function cannot(verb: 'read' | 'write', file: string, error: unknown): PortsError {
  return new PortsError(`Cannot ${verb} ${file}: ${(error as Error).message}`, {
    exitCode: ExitCode.usage,
    hint: verb === 'read' ? 'Check the file\'s permissions, or point `envFile` in your ports config elsewhere.' : 'Check the permissions of the worktree folder, or point `envFile` in your ports config elsewhere.',
    cause: error,
  });
}

/** The bytes of a located regular file as latin1 text (one char per byte); opened so that a swapped-in FIFO or link cannot block or redirect. */
function readBytes(located: Located): string | null {
  if (!located.stat) return null;
  let fd: number;
  try {
    fd = fs.openSync(located.target, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw cannot('read', located.file, error);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new EnvFileRefusedError(located.file, 'is not a regular file', MOVE_HINT);
    return fs.readFileSync(fd).toString('latin1');
  } finally {
    fs.closeSync(fd);
  }
}

function writeBytes(target: string, content: string, mode: number | undefined): void {
  removeStaleEnvTempFiles(path.dirname(target), path.basename(target));
  const tmp = envTempFileName(target);
  try {
    const fd = fs.openSync(tmp, 'wx', mode ?? 0o666);
    try {
      fs.writeFileSync(fd, Buffer.from(content, 'latin1'));
      if (mode !== undefined) fs.fchmodSync(fd, mode); // open() applied the umask
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}

/**
 * What writing `vars` would do, without writing: throws what refuses the content itself (a user
 * line that sets a managed variable, a malformed block) and EnvFileRefusedError for a file of a
 * kind ports never writes, so a caller can refuse before it commits anything.
 */
export function planWorktreeEnv(worktreeRoot: string, envFile: string, vars: EnvVars | null) {
  const located = locate(worktreeRoot, envFile);
  const merged = mergeEnvBlock(readBytes(located), vars, { fileName: located.file });
  if (merged.duplicates.length > 0) {
    const names = merged.duplicates.join(', ');
    throw new ConflictError(
      `${located.file} already sets ${names} outside the ports block; ports will not edit your lines, and two values would be ambiguous.`,
      `Delete the line(s) setting ${names} outside the block (ports writes them), or give the service another variable name (\`services.<name>.env\` in your ports config); then run \`ports env\`.`,
    );
  }
  return { located, merged };
}

/**
 * Writes `vars` as the managed block of `<worktreeRoot>/<envFile>`; null or empty removes the
 * block. Refuses (exit 4) when the user's own lines set a managed variable, when the block is
 * malformed, and for every kind of file listed at the top of this file.
 */
export function writeWorktreeEnv(worktreeRoot: string, envFile: string, vars: EnvVars | null): EnvWriteResult {
  const { located, merged } = planWorktreeEnv(worktreeRoot, envFile, vars);
  const { file, target } = located;
  if (!merged.changed || merged.content === null) return { file, changed: false, deleted: false };
  if (located.stat) {
    if ((located.stat.mode & 0o222) === 0) {
      throw new EnvFileRefusedError(file, 'is read-only', `Make it writable (\`chmod u+w ${file}\`) so ports can update its block, or point \`envFile\` in your ports config elsewhere; then run \`ports env\`.`);
    }
    if (located.stat.nlink > 1) {
      throw new EnvFileRefusedError(file, `has ${located.stat.nlink} hard links (it is shared with another path, perhaps another worktree)`, 'Give this worktree its own copy (`cp FILE FILE.new && mv FILE.new FILE`), then run `ports env`.');
    }
  }
  if (merged.content === '' && merged.deletable) {
    fs.rmSync(target, { force: true });
    return { file, changed: true, deleted: true };
  }
  try {
    if (!located.stat) fs.mkdirSync(path.dirname(target), { recursive: true });
    writeBytes(target, merged.content, located.stat ? located.stat.mode & 0o7777 : undefined);
  } catch (error) {
    throw cannot('write', file, error);
  }
  return { file, changed: true, deleted: false };
}

export interface EnvReadResult {
  file: string;
  /** The managed block's variables; null when the file has no block. */
  vars: Map<string, string> | null;
  exists: boolean;
  /** User lines outside the block that set one of its variables again (line numbers are 1-based). */
  setOutside: { name: string; line: number }[];
}

/** The managed block of the env file. Throws on a malformed block or a file it must not open. */
export function readWorktreeEnv(worktreeRoot: string, envFile: string): EnvReadResult {
  const located = locate(worktreeRoot, envFile);
  const content = readBytes(located);
  if (content === null) return { file: located.file, vars: null, exists: false, setOutside: [] };
  const options = { fileName: located.file };
  return { file: located.file, vars: parseEnvBlock(content, options), exists: true, setOutside: blockNamesSetOutside(content, options) };
}
