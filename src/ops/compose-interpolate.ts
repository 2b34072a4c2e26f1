/**
 * `ports compose --interpolate`: read the base compose files, rewrite each declared service's
 * published host port to read its variable (core/compose-interpolate.ts), and write the files
 * that changed atomically, keeping their mode. A file that cannot be parsed stops the run
 * before anything is written.
 */
import * as path from 'node:path';
import type { Context } from '../context';
import type { PortsConfig } from '../config/schema';
import { findContainerNames, interpolateCompose, projectNameFromFolder, type InterpolateTarget, type InterpolationResult } from '../core/compose-interpolate';
import { ConfigError, ExitCode, PortsError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import { readText, resolveBaseFiles } from './compose-override';

export function interpolateTargets(config: PortsConfig): InterpolateTarget[] {
  return config.services.map((s) => ({ name: s.name, env: s.env, composeService: s.compose.service ?? s.name, containerPort: s.compose.containerPort }));
}

function readBaseTexts(files: readonly string[]): Array<{ file: string; text: string }> {
  return files.map((file) => {
    const text = readText(file);
    if (text === null) throw new ConfigError(`Compose file ${file} does not exist.`, { file, hint: 'Check `--file`, `compose.files` in your ports config and COMPOSE_FILE.' });
    return { file, text };
  });
}

/** The base files and what interpolation would make of them (nothing written). */
export async function planInterpolation(ctx: Context, config: PortsConfig, where: { cwd: string; root: string; files: string[] }): Promise<InterpolationResult & { source: string }> {
  const { files, source } = resolveBaseFiles(ctx, config, where);
  const repo = await ctx.repo().catch(() => null);
  const mainName = path.basename(repo?.mainRoot ?? where.root);
  // Without .env, Compose names the project after the file's folder: the main checkout's name for a file at the root.
  const projectDefault = (file: string) => projectNameFromFolder(path.dirname(file) === where.root ? mainName : path.basename(path.dirname(file)));
  return { ...interpolateCompose(readBaseTexts(files), interpolateTargets(config), { projectDefault }), source };
}

/** Writes the files interpolation changed; returns their paths. */
export function writeInterpolation(result: InterpolationResult): string[] {
  const written: string[] = [];
  for (const f of result.files) {
    if (f.edits.length === 0) continue;
    try {
      writeFileAtomic(f.file, f.text);
    } catch (error) {
      throw new PortsError(`Cannot write ${f.file}: ${(error as Error).message}`, { exitCode: ExitCode.usage, hint: 'Check the file\'s and its folder\'s permissions.', cause: error });
    }
    written.push(f.file);
  }
  return written;
}

/** container_name settings in the worktree's base files (a fixed name is one container for every checkout). */
export function containerNamesIn(ctx: Context, config: PortsConfig, root: string): ReturnType<typeof findContainerNames> {
  try {
    const { files } = resolveBaseFiles(ctx, config, { cwd: root, root, files: [] });
    return findContainerNames(readBaseTexts(files));
  } catch (error) {
    ctx.out.debug(`container_name not checked: ${(error as Error).message}`);
    return [];
  }
}
