/**
 * The Compose override of a worktree (`ports compose [--write]`): which base files it is made
 * for, what it publishes, and writing it — atomically, never over a file ports did not write,
 * and kept out of git (a committed override would publish one worktree's ports in all).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import type { PortsConfig } from '../config/schema';
import type { Allocation } from '../core/registry-schema';
import { isGeneratedOverride, planComposeOverride, renderComposeOverride, type DeclaredComposeService } from '../core/compose-override';
import { ConflictError, ExitCode, NotFoundError, PortsError, UsageError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import { DEFAULT_COMPOSE_FILES, findComposeFiles, readComposeServices } from '../io/compose-files';
import { keepEnvFileOutOfGit } from './ignore';

export interface BaseFiles {
  files: string[];
  source: 'config' | 'COMPOSE_FILE' | 'default' | 'none';
}

export interface BuiltOverride {
  content: string;
  target: string;
  baseFiles: string[];
  source: string;
  plan: ReturnType<typeof planComposeOverride>;
}

/**
 * The base compose files as Compose finds them: named files first (--file from `cwd`, config
 * ones from the worktree's `root`), then COMPOSE_FILE, then the default names from `cwd`
 * upwards. Our own override is an output, never a base file (COMPOSE_FILE often lists it).
 */
export function resolveBaseFiles(ctx: Context, config: PortsConfig, where: { cwd: string; root: string; files: string[]; output?: string }): BaseFiles {
  const named = where.files.length ? where.files.map((f) => path.resolve(where.cwd, f)) : config.compose.files?.map((f) => path.resolve(where.root, f));
  const lookup = findComposeFiles(where.cwd, ctx.env, named);
  const ownOutput = where.output === undefined ? null : path.resolve(where.cwd, where.output);
  const files = lookup.files.filter((file) => path.resolve(file) !== ownOutput && !isOurs(file));
  if (files.length === 0) {
    throw new NotFoundError(
      `No compose file found for ${where.cwd} (looked for ${lookup.source === 'none' ? DEFAULT_COMPOSE_FILES.join(', ') : lookup.files.join(', ')}).`,
      'Pass the base file with --file FILE, or set "compose": { "files": [...] } in your ports config.',
    );
  }
  ctx.out.debug(`compose: base files (${lookup.source}): ${files.join(', ')}`);
  return { files, source: lookup.source };
}

/** What `ports compose` renders for the allocations `held` of the worktree at `root`, seen from `cwd`. */
export function buildOverride(
  ctx: Context,
  config: PortsConfig,
  held: readonly Allocation[],
  where: { cwd: string; root: string; files: string[]; output?: string; plain: boolean },
): BuiltOverride {
  const { files: baseFiles, source } = resolveBaseFiles(ctx, config, where);
  // Where Compose looks for an override: next to the (first) base file.
  const target = where.output !== undefined ? path.resolve(where.cwd, where.output) : path.resolve(path.dirname(baseFiles[0]!), config.compose.overrideFile);
  const base = readComposeServices(baseFiles);
  const declared: DeclaredComposeService[] = [];
  for (const service of config.services) {
    const allocation = held.find((a) => a.service === service.name);
    if (!allocation) continue;
    const protocol = service.compose.protocol;
    declared.push({
      name: service.name,
      hostPort: allocation.port,
      composeService: service.compose.service,
      containerPort: service.compose.containerPort,
      ...(protocol ? { protocols: protocol === 'tcp+udp' ? ['tcp', 'udp'] : [protocol] } : {}),
    });
  }
  const plan = planComposeOverride(declared, base);
  if (plan.services.length === 0) {
    throw new UsageError(
      `None of the declared services (${config.services.map((s) => s.name).join(', ')}) maps to a service of ${baseFiles.join(', ')}.`,
      'Set `compose.service` (and `compose.containerPort` when it publishes several ports) for each service in your ports config.',
    );
  }
  const content = renderComposeOverride(plan.services, { tags: where.plain ? 'none' : 'override' });
  return { content, target, baseFiles, source, plan };
}

/**
 * When a worktree's ports change, an override that `ports compose --write` left at the usual
 * place (`compose.overrideFile` next to the worktree's base file at its root) is rendered again,
 * keeping its form (`--plain` or not), so it never publishes old ports. Anything else — no such
 * file, a hand-written one, a file written with --output elsewhere — is left alone.
 */
export async function refreshGeneratedOverride(ctx: Context, root: string, held: readonly Allocation[]): Promise<string | null> {
  const config = await ctx.config();
  const file = path.join(root, config.compose.overrideFile);
  const existing = readText(file);
  if (existing === null || !isGeneratedOverride(existing) || config.services.length === 0) return null;
  let built: BuiltOverride;
  try {
    built = buildOverride(ctx, config, held, { cwd: root, root, files: [], plain: !existing.includes('!override') });
  } catch (error) {
    ctx.out.debug(`${file} not refreshed: ${(error as Error).message}`);
    return null;
  }
  if (path.resolve(built.target) !== path.resolve(file) || built.content === existing) return null;
  writeFileAtomic(file, built.content);
  return file;
}

export function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new PortsError(`Cannot read ${file}: ${(error as Error).message}`, { exitCode: ExitCode.usage, hint: 'Check the file\'s permissions.', cause: error });
  }
}

function isOurs(file: string): boolean {
  const text = readText(file);
  return text !== null && isGeneratedOverride(text);
}

/** Writes the override (never over a file ports did not write) and keeps it out of git when it lies in the worktree. */
export async function writeOverride(ctx: Context, root: string, file: string, content: string): Promise<{ file: string; changed: boolean }> {
  const existing = readText(file);
  if (existing !== null && !isGeneratedOverride(existing)) {
    throw new ConflictError(
      `${file} exists and was not written by ports; it is left as it is.`,
      'Keep your overrides in another file (e.g. compose.dev.yaml, loaded with `-f` or COMPOSE_FILE), or write ours elsewhere with `--output PATH` and add it with `-f`; or delete the file and run `ports compose --write` again.',
    );
  }
  const relative = path.relative(root, file);
  // Excluded in the common info/exclude, as the env files: every worktree writes its own.
  if (!relative.startsWith('..') && !path.isAbsolute(relative)) await keepEnvFileOutOfGit(ctx, relative);
  if (existing === content) return { file, changed: false };
  try {
    writeFileAtomic(file, content);
  } catch (error) {
    throw new PortsError(`Cannot write ${file}: ${(error as Error).message}`, {
      exitCode: ExitCode.usage,
      hint: 'Check the folder\'s permissions, or write elsewhere with `--output PATH`.',
      cause: error,
    });
  }
  return { file, changed: true };
}
