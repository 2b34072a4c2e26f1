/**
 * `ports compose [--write] [--file F…] [--output PATH] [--plain]`: the Docker Compose override
 * that publishes the worktree's declared services on its allocated ports, replacing (`!override`)
 * the base file's host ports instead of adding to them. Printed, or with --write written
 * atomically next to the base file as `compose.overrideFile` (default
 * docker-compose.override.yml, which Compose loads by itself next to a default base file), or
 * to --output. A file there that ports did not write is never replaced (exit 4).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import type { PortsConfig } from '../config/schema';
import type { Allocation } from '../core/registry-schema';
import { isGeneratedOverride, planComposeOverride, renderComposeOverride, type DeclaredComposeService } from '../core/compose-override';
import { ConflictError, ExitCode, NotFoundError, PortsError, UsageError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import { DEFAULT_COMPOSE_FILES, autoLoadedOverride, findComposeFiles, readComposeServices } from '../io/compose-files';
import { ensureDeclaredServices } from '../ops/ensure';

export interface ComposeOptions {
  write: boolean;
  /** Base compose files (like `docker compose -f`); default: config `compose.files`, COMPOSE_FILE, Compose's lookup. */
  files: string[];
  /** Where --write writes; default config `compose.overrideFile`. */
  output?: string;
  /** No `!override` tag, for docker-compose v1, which cannot parse it (and appends instead). */
  plain: boolean;
}

interface BuiltOverride {
  content: string;
  target: string;
  baseFiles: string[];
  source: string;
  plan: ReturnType<typeof planComposeOverride>;
}

/** What `ports compose` renders for the allocations `held` of the worktree at `root`, seen from `cwd`. */
function buildOverride(
  ctx: Context,
  config: PortsConfig,
  held: readonly Allocation[],
  where: { cwd: string; root: string; files: string[]; output?: string; plain: boolean },
): BuiltOverride {
  // As Compose: named files first (--file from here, config ones from the worktree's root),
  // then COMPOSE_FILE, then the default names from here upwards.
  const named = where.files.length ? where.files.map((f) => path.resolve(where.cwd, f)) : config.compose.files?.map((f) => path.resolve(where.root, f));
  const lookup = findComposeFiles(where.cwd, ctx.env, named);
  const ownOutput = where.output === undefined ? null : path.resolve(where.cwd, where.output);
  // Our own override is an output, never a base file (COMPOSE_FILE often lists it).
  const baseFiles = lookup.files.filter((file) => path.resolve(file) !== ownOutput && !isOurs(file));
  if (baseFiles.length === 0) {
    throw new NotFoundError(
      `No compose file found for ${where.cwd} (looked for ${lookup.source === 'none' ? DEFAULT_COMPOSE_FILES.join(', ') : lookup.files.join(', ')}).`,
      'Pass the base file with --file FILE, or set "compose": { "files": [...] } in your ports config.',
    );
  }
  // Where Compose looks for an override: next to the (first) base file.
  const target = ownOutput ?? path.resolve(path.dirname(baseFiles[0]!), config.compose.overrideFile);
  ctx.out.debug(`compose: base files (${lookup.source}): ${baseFiles.join(', ')}`);
  const base = readComposeServices(baseFiles);

  const declared: DeclaredComposeService[] = [];
  for (const service of config.services) {
    const allocation = held.find((a) => a.service === service.name);
    if (!allocation) continue;
    declared.push({ name: service.name, hostPort: allocation.port, composeService: service.compose.service, containerPort: service.compose.containerPort });
  }
  const plan = planComposeOverride(declared, base);
  if (plan.services.length === 0) {
    throw new UsageError(
      `None of the declared services (${config.services.map((s) => s.name).join(', ')}) maps to a service of ${baseFiles.join(', ')}.`,
      'Set `compose.service` (and `compose.containerPort` when it publishes several ports) for each service in your ports config.',
    );
  }
  const content = renderComposeOverride(plan.services, { tags: where.plain ? 'none' : 'override' });
  return { content, target, baseFiles, source: lookup.source, plan };
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

export async function compose(ctx: Context, options: ComposeOptions): Promise<number> {
  const config = await ctx.config();
  if (config.services.length === 0) {
    throw new UsageError('No services declared in the ports config, so there is nothing to publish.', 'Declare the services every worktree gets under "services" in .portsrc.json (see .portsrc.example.json).');
  }
  const ports = await ensureDeclaredServices(ctx, { announce: true });
  const { content, target, baseFiles, source, plan } = buildOverride(ctx, config, ports.held, {
    cwd: ctx.cwd,
    root: ports.root,
    files: options.files,
    output: options.output,
    plain: options.plain,
  });
  for (const s of plan.skipped) ctx.out.warn(`${s.name} is not in the override: ${s.reason}.`);
  for (const note of plan.notes) ctx.out.warn(note);

  let written: { file: string; changed: boolean } | null = null;
  if (options.write) {
    written = writeOverride(target, content);
    warnIfComposeWillNotLoad(ctx, target, source, baseFiles);
  }

  if (ctx.out.json) {
    ctx.out.data({ file: written?.file ?? null, changed: written?.changed ?? false, baseFiles, services: plan.services, skipped: plan.skipped, notes: plan.notes, content });
  } else if (written) {
    ctx.out.result(written.file);
    ctx.out.info(written.changed ? `Wrote ${written.file}.` : `${written.file} is up to date.`);
  } else {
    ctx.out.result(content.replace(/\n$/, ''));
  }
  return 0;
}

function readText(file: string): string | null {
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

function writeOverride(file: string, content: string): { file: string; changed: boolean } {
  const existing = readText(file);
  if (existing !== null && !isGeneratedOverride(existing)) {
    throw new ConflictError(
      `${file} exists and was not written by ports; it is left as it is.`,
      'Keep your overrides in another file (e.g. compose.dev.yaml, loaded with `-f` or COMPOSE_FILE), or write ours elsewhere with `--output PATH` and add it with `-f`; or delete the file and run `ports compose --write` again.',
    );
  }
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

/** Compose loads an override by itself only next to a default base file, and only the first one it finds. */
function warnIfComposeWillNotLoad(ctx: Context, target: string, source: string, baseFiles: string[]): void {
  if (source !== 'default') {
    ctx.out.warn(`Compose does not load ${path.basename(target)} by itself when the files are named (${source}): add it, e.g. \`docker compose -f ${baseFiles.map((f) => path.basename(f)).join(' -f ')} -f ${path.basename(target)} up\`.`);
    return;
  }
  const loaded = autoLoadedOverride(baseFiles[0]!);
  if (loaded && path.resolve(loaded) !== target) {
    ctx.out.warn(`Compose will load ${loaded}, not ${target} (it takes the first override file it finds). Write to that name with --output, or name both with -f.`);
  } else if (!loaded && path.dirname(target) !== path.dirname(baseFiles[0]!)) {
    ctx.out.warn(`Compose looks for the override next to ${baseFiles[0]}, not at ${target}: name it with -f.`);
  }
}
