/**
 * The worktree's `.env` managed block follows the registry: one variable per allocation of
 * the worktree (the configured name, default PORT_<SERVICE>) plus COMPOSE_PROJECT_NAME.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import { defaultEnvName, type PortsConfig } from '../config/schema';
import type { Allocation, Registry } from '../core/registry-schema';
import { composeProjectName } from '../core/project-name';
import { DEFAULT_PROXY_PORT, dnsLabel, urlOf } from '../core/proxy-routes';
import { writeWorktreeEnv } from '../io/env-file';
import { runGit, type RepoInfo } from '../io/git';
import { compareText } from '../core/compare';

export function repoName(repo: RepoInfo): string {
  const base = repo.mainRoot ? path.basename(repo.mainRoot) : path.basename(repo.commonDir);
  return base.replace(/\.git$/, '') || 'repo';
}

/** The variables of one worktree, in config order then by service name. */
export function envVarsFor(
  allocations: readonly Allocation[],
  config: PortsConfig,
  project: string | null,
): [string, string][] {
  const order = new Map(config.services.map((s, i) => [s.name, i]));
  const sorted = [...allocations].sort(
    (a, b) => (order.get(a.service) ?? 1e6) - (order.get(b.service) ?? 1e6) || compareText(a.service, b.service),
  );
  const vars: [string, string][] = sorted.map((a) => [config.services.find((s) => s.name === a.service)?.env ?? defaultEnvName(a.service), String(a.port)]);
  // The proxy port from the config only: PORTS_PROXY_PORT differs between shells and would make the block flip.
  if (config.urls) for (const a of sorted) vars.push([`URL_${a.service.toUpperCase().replace(/-/g, '_')}`, urlOf(`${dnsLabel(a.service)}.${dnsLabel(a.worktree)}.localhost:${config.proxy.port ?? DEFAULT_PROXY_PORT}`)]);
  if (project && vars.length) vars.push(['COMPOSE_PROJECT_NAME', project]);
  return vars;
}

export async function projectNameFor(ctx: Context, worktreeRoot: string): Promise<string> {
  const repo = await ctx.repo();
  const isMain = repo.mainRoot !== null && path.resolve(repo.mainRoot) === path.resolve(worktreeRoot);
  return composeProjectName(repoName(repo), path.basename(worktreeRoot), isMain, worktreeRoot);
}

/**
 * The env file's path relative to the worktree when git tracks it, else null. Asked only when
 * the file exists (one git call): a committed `.env` must never get one worktree's ports.
 */
export function trackedEnvFile(ctx: Context, worktreeRoot: string, envFile: string): string | null {
  const file = path.resolve(worktreeRoot, envFile);
  if (!fs.existsSync(file)) return null;
  // One answer per run: an allocation asks before its commit and again when it writes the file.
  let known = trackedAnswers.get(ctx);
  if (!known) trackedAnswers.set(ctx, (known = new Map()));
  if (known.has(file)) return known.get(file)!;
  const relative = path.relative(worktreeRoot, file).split(path.sep).join('/');
  const tracked = !relative.startsWith('..') && runGit(['ls-files', '--error-unmatch', '--', relative], worktreeRoot, ctx.env).status === 0 ? relative : null;
  known.set(file, tracked);
  return tracked;
}

const trackedAnswers = new WeakMap<Context, Map<string, string | null>>();

/** What to do about a tracked env file, in one line. */
export function trackedEnvAdvice(relative: string): string {
  return `${relative} is tracked by git, so ports leaves it alone (the ports are still allocated; \`ports exec -- CMD\` passes them). To get them in a file, set "envFile": ".env.local" in the ports config: Vite, Next and dotenv-flow read it over .env, and Compose with \`--env-file .env.local\` or COMPOSE_ENV_FILES.`;
}

const warnedTracked = new WeakSet<Context>();

/** Rewrites the managed block of the worktree at `worktreeRoot` from `registry`; a tracked env file is left alone. */
export async function syncWorktreeEnv(ctx: Context, registry: Registry, worktreeRoot: string) {
  const config = await ctx.config();
  const mine = registry.allocations.filter((a) => a.worktree_path === worktreeRoot);
  const vars = envVarsFor(mine, config, await projectNameFor(ctx, worktreeRoot));
  const tracked = trackedEnvFile(ctx, worktreeRoot, config.envFile);
  if (tracked !== null) {
    if (vars.length && !warnedTracked.has(ctx)) ctx.out.warn(trackedEnvAdvice(tracked));
    warnedTracked.add(ctx);
    return { file: path.resolve(worktreeRoot, config.envFile), changed: false, deleted: false, tracked: true };
  }
  const result = { ...writeWorktreeEnv(worktreeRoot, config.envFile, vars.length ? vars : null), tracked: false };
  if (result.changed) {
    ctx.out.debug(`${result.deleted ? 'removed' : 'wrote'} ${result.file}`);
    // A generated Compose override must follow too. One stat here; Compose code loads only if it exists.
    if (fs.existsSync(path.join(worktreeRoot, config.compose.overrideFile))) {
      const { refreshGeneratedOverride } = await import('./compose-override');
      const refreshed = await refreshGeneratedOverride(ctx, worktreeRoot, mine);
      if (refreshed) ctx.out.info(`ports: updated ${refreshed} to the worktree's ports`);
    }
  }
  return result;
}
