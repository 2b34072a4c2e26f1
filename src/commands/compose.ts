/**
 * `ports compose`: Docker Compose integration.
 * - `--interpolate [--dry-run]` rewrites the base file(s) once so each declared service's host
 *   port reads its variable with the original port as default: works with every Compose.
 * - `--write [--plain]` writes an override whose `ports: !override [...]` replace the base
 *   file's, for Compose ≥ 2.24 (the client is detected; one that cannot read it is refused).
 * - Without either, the override is printed; nothing is allocated or written.
 */
import * as path from 'node:path';
import type { Context } from '../context';
import type { PortsConfig } from '../config/schema';
import { lineDiff } from '../core/compose-interpolate';
import { ConflictError, NotFoundError, UsageError } from '../errors';
import { autoLoadedOverride } from '../io/compose-files';
import { detectComposeClient, readsOverrideTag } from '../io/docker';
import { containerNamesIn, planInterpolation, writeInterpolation } from '../ops/compose-interpolate';
import { buildOverride, resolveBaseFiles, writeOverride } from '../ops/compose-override';
import { ensureDeclaredServices, worktreeHoldings } from '../ops/ensure';

export interface ComposeOptions {
  write: boolean;
  /** Rewrite the base files to read the port variables (with --dryRun: only show the diff). */
  interpolate?: boolean;
  dryRun?: boolean;
  /** Base compose files (like `docker compose -f`); default: config `compose.files`, COMPOSE_FILE, Compose's lookup. */
  files: string[];
  /** Where --write writes; default config `compose.overrideFile`. */
  output?: string;
  /** No `!override` tag: only for base files whose host ports already read the variables. */
  plain: boolean;
}

const INTERPOLATE_HINT = 'Run `ports compose --interpolate` once instead: it makes the base file read the port variables, which every Compose (v1 and v2) understands; commit the result.';

export async function compose(ctx: Context, options: ComposeOptions): Promise<number> {
  const config = await ctx.config();
  if (config.services.length === 0) {
    throw new UsageError('No services declared in the ports config, so there is nothing to publish.', 'Declare the services every worktree gets under "services" in .portsrc.json (see .portsrc.example.json).');
  }
  if (options.interpolate) {
    if (options.write || options.plain || options.output !== undefined) throw new UsageError('--interpolate rewrites the base files; it takes no --write, --plain or --output.', 'Run `ports compose --interpolate [--dry-run]` alone.');
    return interpolate(ctx, config, options);
  }
  if (options.dryRun) throw new UsageError('--dry-run goes with --interpolate.', 'Run `ports compose --interpolate --dry-run`.');
  return options.write ? writeCommand(ctx, config, options) : printCommand(ctx, config, options);
}

async function worktreeRoot(ctx: Context): Promise<string> {
  const repo = await ctx.repo().catch(() => null);
  return repo?.worktreeRoot ?? ctx.cwd;
}

async function interpolate(ctx: Context, config: PortsConfig, options: ComposeOptions): Promise<number> {
  const root = await worktreeRoot(ctx);
  const result = await planInterpolation(ctx, config, { cwd: ctx.cwd, root, files: options.files });
  const changed = result.files.filter((f) => f.edits.length > 0);
  const written = options.dryRun ? [] : writeInterpolation(result);
  for (const note of result.notes) ctx.out.warn(note);
  if (ctx.out.json) {
    ctx.out.data({ dryRun: options.dryRun === true, written, files: result.files.map((f) => ({ file: f.file, edits: f.edits })), notes: result.notes, already: result.already });
    return 0;
  }
  for (const f of changed) ctx.out.result(lineDiff(path.relative(ctx.cwd, f.file) || f.file, f.original, f.text));
  for (const edit of changed.flatMap((f) => f.edits).filter((e) => e.kind === 'container_name')) {
    ctx.out.info(`${edit.composeService}: container_name is now ${edit.after}: one container per Compose project, so each worktree's stack gets its own.`);
  }
  if (changed.length === 0) {
    ctx.out.info(result.already > 0 ? `Nothing to change: ${result.already === 1 ? '1 mapping already reads its variable' : `${result.already} mappings already read their variable`}.` : 'Nothing to change.');
  } else if (options.dryRun) {
    ctx.out.info(`Dry run: ${changed.map((f) => f.file).join(', ')} left as ${changed.length === 1 ? 'it is' : 'they are'}.`);
  } else {
    ctx.out.info(`Wrote ${written.join(', ')}. Commit it: every checkout then publishes its own ports (and the original ones without a .env).`);
  }
  return 0;
}

async function printCommand(ctx: Context, config: PortsConfig, options: ComposeOptions): Promise<number> {
  // Print only: read what the worktree holds, allocate nothing, write nothing.
  const holdings = await worktreeHoldings(ctx);
  if (holdings.held.length === 0) {
    resolveBaseFiles(ctx, config, { cwd: ctx.cwd, root: holdings.root, files: options.files, output: options.output });
    throw new NotFoundError(`${holdings.root} holds no ports yet, so there is no override to show.`, 'Allocate them with `ports allocate` (or write the override with `ports compose --write`).');
  }
  for (const s of holdings.missing) ctx.out.warn(`${s.name} is not allocated for this worktree yet (\`ports allocate\`); the override leaves it out.`);
  const built = buildOverride(ctx, config, holdings.held, { cwd: ctx.cwd, root: holdings.root, files: options.files, output: options.output, plain: options.plain });
  reportPlan(ctx, built.plan);
  reportContainerNames(ctx, config, holdings.root);
  if (ctx.out.json) ctx.out.data({ file: null, changed: false, baseFiles: built.baseFiles, services: built.plan.services, skipped: built.plan.skipped, notes: built.plan.notes, content: built.content });
  else ctx.out.result(built.content.replace(/\n$/, ''));
  return 0;
}

async function writeCommand(ctx: Context, config: PortsConfig, options: ComposeOptions): Promise<number> {
  const root = await worktreeRoot(ctx);
  // Refusals first: nothing is allocated or written for an override Compose would misread.
  if (options.plain) {
    const pending = (await planInterpolation(ctx, config, { cwd: ctx.cwd, root, files: options.files })).files.flatMap((f) => f.edits.filter((e) => e.kind === 'port'));
    if (pending.length > 0) {
      throw new ConflictError(
        `A plain override adds to the base file's ports, and ${pending.map((e) => `${path.basename(e.file)}:${e.line} (${e.composeService}: ${e.before})`).join(', ')} still publish${pending.length === 1 ? 'es' : ''} a fixed host port: every worktree's stack would publish it too. Nothing was written.`,
        INTERPOLATE_HINT,
      );
    }
  } else {
    const client = detectComposeClient(ctx.env);
    if (client && !readsOverrideTag(client)) {
      throw new UsageError(`${client.command} ${client.version.join('.')} cannot read the \`!override\` tag of the file \`ports compose --write\` writes (it needs Compose 2.24 or later); nothing was written.`, INTERPOLATE_HINT);
    }
    if (!client) ctx.out.warn('No Compose client answered (`docker compose version`, `docker-compose version`): the override needs Compose 2.24 or later.');
  }
  const ports = await ensureDeclaredServices(ctx, { announce: true });
  const built = buildOverride(ctx, config, ports.held, { cwd: ctx.cwd, root: ports.root, files: options.files, output: options.output, plain: options.plain });
  reportPlan(ctx, built.plan);
  reportContainerNames(ctx, config, ports.root);
  const written = await writeOverride(ctx, ports.root, built.target, built.content);
  warnIfComposeWillNotLoad(ctx, built.target, built.source, built.baseFiles);
  if (ctx.out.json) {
    ctx.out.data({ file: written.file, changed: written.changed, baseFiles: built.baseFiles, services: built.plan.services, skipped: built.plan.skipped, notes: built.plan.notes, content: built.content });
  } else {
    ctx.out.result(written.file);
    ctx.out.info(written.changed ? `Wrote ${written.file}.` : `${written.file} is up to date.`);
  }
  return 0;
}

function reportPlan(ctx: Context, plan: ReturnType<typeof buildOverride>['plan']): void {
  for (const s of plan.skipped) ctx.out.warn(`${s.name} is not in the override: ${s.reason}.`);
  for (const note of plan.notes) ctx.out.warn(note);
}

function reportContainerNames(ctx: Context, config: PortsConfig, root: string): void {
  for (const c of containerNamesIn(ctx, config, root)) {
    ctx.out.warn(`${path.basename(c.file)}:${c.line}: service ${c.composeService} sets container_name "${c.name}": one container for every worktree, so the second stack cannot start. \`ports compose --interpolate\` makes it per-project.`);
  }
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
