/**
 * The worktree's env file on disk: read it, merge the managed block (core/env-block), write it
 * atomically. On release the file is deleted only when nothing but our block was in it — the
 * tool created it, or the user's own lines were all removed — so a user's file is never lost.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConflictError, PortsError, ExitCode } from '../errors';
import { mergeEnvBlock, parseEnvBlock, type EnvVars } from '../core/env-block';
import { writeFileAtomic } from './atomic-write';

export interface EnvWriteResult {
  file: string;
  changed: boolean;
  deleted: boolean;
}

function readIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new PortsError(`Cannot read ${file}: ${(error as Error).message}`, {
      exitCode: ExitCode.usage,
      hint: 'Check the file\'s permissions, or point `envFile` in your ports config elsewhere.',
      cause: error,
    });
  }
}

/**
 * What writing `vars` would do, without writing: throws what the write would (ConflictError,
 * exit 4, when the user's own lines set a managed variable; a malformed block), so a caller can
 * refuse before it commits anything.
 */
export function planWorktreeEnv(worktreeRoot: string, envFile: string, vars: EnvVars | null) {
  const file = path.resolve(worktreeRoot, envFile);
  const existing = readIfExists(file);
  const merged = mergeEnvBlock(existing, vars, { fileName: file });
  if (merged.duplicates.length > 0) {
    const names = merged.duplicates.join(', ');
    throw new ConflictError(
      `${file} already sets ${names} outside the ports block; ports will not edit your lines, and two values would be ambiguous.`,
      `Delete the line(s) setting ${names} outside the block (ports writes them), or give the service another variable name (\`services.<name>.env\` in your ports config); then run \`ports env\`.`,
    );
  }
  return { file, existing, merged };
}

/**
 * Writes `vars` as the managed block of `<worktreeRoot>/<envFile>`; null or empty removes the
 * block. Refuses (ConflictError, exit 4) when the user's own lines set a managed variable.
 */
export function writeWorktreeEnv(worktreeRoot: string, envFile: string, vars: EnvVars | null): EnvWriteResult {
  const { file, existing, merged } = planWorktreeEnv(worktreeRoot, envFile, vars);
  if (!merged.changed || merged.content === null) return { file, changed: false, deleted: false };
  if (merged.content === '') {
    try {
      fs.unlinkSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return { file, changed: true, deleted: true };
  }
  try {
    if (existing === null) fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, merged.content, { durable: false });
  } catch (error) {
    throw new PortsError(`Cannot write ${file}: ${(error as Error).message}`, {
      exitCode: ExitCode.usage,
      hint: 'Check the permissions of the worktree folder, or point `envFile` in your ports config elsewhere.',
      cause: error,
    });
  }
  return { file, changed: true, deleted: false };
}

/** The managed block's variables (null when the file has no block). Throws on a malformed block. */
export function readWorktreeEnv(worktreeRoot: string, envFile: string): { file: string; vars: Map<string, string> | null; exists: boolean } {
  const file = path.resolve(worktreeRoot, envFile);
  const content = readIfExists(file);
  if (content === null) return { file, vars: null, exists: false };
  return { file, vars: parseEnvBlock(content, { fileName: file }), exists: true };
}
