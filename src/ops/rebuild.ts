/**
 * Rebuild a corrupt registry from what the worktrees still say: each live worktree's managed
 * .env block holds its ports under the configured variable names (default PORT_<SERVICE>).
 * The registry store writes the result (RegistryStore.replace): the bad file kept as a backup,
 * and only if the file on disk is still the corrupt (or missing) one we looked at.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import { defaultEnvName, type PortsConfig } from '../config/schema';
import { emptyRegistry, validateRegistry, type Allocation, type PortRange, type Registry } from '../core/registry-schema';
import { PortsError } from '../errors';
import { readWorktreeEnv } from '../io/env-file';
import { listWorktrees } from '../io/git';
import { currentUser, type RegistryStore } from '../io/registry-store';
import { canonicalPath } from './worktrees';

export interface RebuildResult {
  /** Where the corrupt file was kept; null when there was no file. */
  backup: string | null;
  registry: Registry;
  /** Worktrees whose .env gave ports. */
  recovered: { worktree: string; path: string; ports: number[] }[];
  /** Allocations made by name kept from the corrupt file (when it was still JSON). */
  byName: number;
  /** Ranges extended or added so that every recovered port fits. */
  rangesChanged: string[];
  /** What could not be taken over (a port claimed twice, outside every range, unreadable blocks). */
  skipped: string[];
}

/** The service a variable of the managed block stands for: the configured name first, then PORT_<SERVICE> of a known range. */
export function serviceOfVariable(name: string, config: PortsConfig, rangeNames: readonly string[]): string | null {
  const declared = config.services.find((s) => s.env === name);
  if (declared) return declared.name;
  return rangeNames.find((r) => defaultEnvName(r) === name) ?? null;
}

/**
 * Pure part: allocations from the worktrees' blocks, main worktree first, so a port claimed twice
 * stays with the first claimant. Every port a block holds is kept: a range that does not
 * contain it (the registry's own ranges were lost with it) is extended, or added for a service
 * no range names, in `registry.ranges`; `rangesChanged` says how.
 */
export function allocationsFromEnv(
  worktrees: readonly { path: string; vars: ReadonlyMap<string, string> }[],
  config: PortsConfig,
  registry: Registry,
  stamp: string,
  allocatedBy: string,
): { allocations: Allocation[]; skipped: string[]; rangesChanged: string[] } {
  const claims: { path: string; name: string; service: string; port: number }[] = [];
  const skipped: string[] = [];
  const rangeNames = Object.keys(registry.ranges);
  for (const w of worktrees) {
    const name = path.basename(w.path);
    for (const [variable, value] of w.vars) {
      if (variable === 'COMPOSE_PROJECT_NAME') continue;
      // The block holds only what the tool wrote: a PORT_<SERVICE> no range names was a service of a lost range.
      const service = serviceOfVariable(variable, config, rangeNames) ?? /^PORT_([A-Z0-9][A-Z0-9_]*)$/.exec(variable)?.[1]?.toLowerCase() ?? null;
      const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
      if (!service) {
        skipped.push(`${name}: ${variable}=${value} names no known service`);
        continue;
      }
      if (!(port >= 1 && port <= 65535)) {
        skipped.push(`${name}: ${variable}=${value} is not a port`);
        continue;
      }
      const holder = claims.find((c) => c.port === port);
      if (holder) {
        skipped.push(`${name}: ${variable}=${port} is also claimed by ${holder.name}, which keeps it`);
        continue;
      }
      if (claims.some((c) => c.path === w.path && c.service === service)) {
        skipped.push(`${name}: a second port for ${service} (${variable}=${port})`);
        continue;
      }
      claims.push({ path: w.path, name, service, port });
    }
  }
  const rangesChanged: string[] = [];
  for (const service of new Set(claims.map((c) => c.service))) {
    const change = fitRange(registry.ranges, service, claims.filter((c) => c.service === service).map((c) => c.port));
    if (change) rangesChanged.push(change);
  }
  const allocations: Allocation[] = claims.map((c) => ({
    port: c.port,
    worktree: c.name,
    service: c.service,
    allocated_at: stamp,
    allocated_by: allocatedBy,
    description: config.services.find((s) => s.name === c.service)?.description ?? '',
    process_id: null,
    health_status: 'unknown',
    worktree_path: c.path,
    rebuilt_from: 'env',
  }));
  return { allocations, skipped, rangesChanged };
}

function overlapsOther(ranges: Record<string, PortRange>, service: string, start: number, end: number): boolean {
  return Object.entries(ranges).some(([name, r]) => name !== service && r.start <= end && start <= r.end);
}

/**
 * Makes `ranges[service]` contain every one of `ports`, preferring (1) the range grown to take
 * them in, then (2) a range of the same size starting at the lowest port (where a customised
 * range of the lost registry most likely was), then (3) exactly the span of the ports — the first
 * that overlaps no other range. Returns what changed, or null.
 */
export function fitRange(ranges: Record<string, PortRange>, service: string, ports: readonly number[]): string | null {
  const lo = Math.min(...ports);
  const hi = Math.max(...ports);
  const range = Object.prototype.hasOwnProperty.call(ranges, service) ? ranges[service] : undefined;
  const list = [...ports].sort((a, b) => a - b).join(', ');
  if (!range) {
    ranges[service] = { start: lo, end: hi, description: `${service} (recovered from the worktrees' env files)` };
    return `added the range ${service} ${lo}-${hi} for the recovered port${ports.length === 1 ? '' : 's'} ${list}`;
  }
  if (lo >= range.start && hi <= range.end) return null;
  const size = range.end - range.start + 1;
  const candidates: [number, number][] = [
    [Math.min(range.start, lo), Math.max(range.end, hi)],
    [lo, Math.min(65535, Math.max(hi, lo + size - 1))],
  ];
  const [start, end] = candidates.find(([a, b]) => !overlapsOther(ranges, service, a, b)) ?? [lo, hi];
  const was = `${range.start}-${range.end}`;
  range.start = start;
  range.end = end;
  return `the ${service} range is now ${start}-${end} (was ${was}) so the recovered port${ports.length === 1 ? '' : 's'} ${list} fit${ports.length === 1 ? 's' : ''}`;
}

/**
 * Allocations made by name (no worktree_path: CI review apps, scripts) have no .env to rebuild
 * them from. When the corrupt file is still JSON (a schema error, not a syntax error), each such
 * entry that is valid on its own and fits the rebuilt registry is kept.
 */
export function salvageByName(corruptText: string, registry: Registry): { kept: Allocation[]; skipped: string[] } {
  let data: unknown;
  try {
    data = JSON.parse(corruptText.replace(/^\uFEFF/, ''));
  } catch {
    return { kept: [], skipped: ['allocations made by name (not linked to a worktree) cannot be read from a file that is not JSON; allocate them again if still needed (the backup shows them)'] };
  }
  const entries = (data as { allocations?: unknown } | null)?.allocations;
  if (!Array.isArray(entries)) return { kept: [], skipped: [] };
  const kept: Allocation[] = [];
  const skipped: string[] = [];
  for (const entry of entries) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || 'worktree_path' in entry) continue;
    const probe = validateRegistry({ ranges: registry.ranges, allocations: [entry], metadata: registry.metadata });
    const name = String((entry as { worktree?: unknown }).worktree ?? '?');
    if (!probe.ok) {
      skipped.push(`${name} (by name): ${probe.problems[0]}`);
      continue;
    }
    const a = probe.registry.allocations[0] as Allocation;
    const range = Object.prototype.hasOwnProperty.call(registry.ranges, a.service) ? registry.ranges[a.service] : undefined;
    if (!range || a.port < range.start || a.port > range.end) skipped.push(`${name} (by name): port ${a.port} is not in a ${a.service} range`);
    else if ([...registry.allocations, ...kept].some((x) => x.port === a.port)) skipped.push(`${name} (by name): port ${a.port} is taken by a worktree's .env`);
    else kept.push(a);
  }
  return { kept, skipped };
}

/** The managed block of every live worktree, main worktree first; blocks that cannot be read are listed in `skipped`. */
export async function readWorktreeBlocks(ctx: Context): Promise<{ worktrees: { path: string; vars: Map<string, string> }[]; skipped: string[] }> {
  const config = await ctx.config();
  const repo = await ctx.repo();
  const worktrees: { path: string; vars: Map<string, string> }[] = [];
  const skipped: string[] = [];
  const listed = listWorktrees(ctx.cwd, ctx.env).filter((w) => !w.bare && !w.prunable && fs.existsSync(w.path));
  const mainRoot = repo.mainRoot ? canonicalPath(repo.mainRoot) : null;
  const ordered = [...listed].sort((a, b) => Number(canonicalPath(b.path) === mainRoot) - Number(canonicalPath(a.path) === mainRoot));
  for (const w of ordered) {
    const root = canonicalPath(w.path);
    try {
      const read = readWorktreeEnv(root, config.envFile);
      if (read.vars && read.vars.size > 0) worktrees.push({ path: root, vars: read.vars });
    } catch (error) {
      if (!(error instanceof PortsError)) throw error;
      skipped.push(`${path.basename(root)}: ${error.message}`);
    }
  }
  return { worktrees, skipped };
}

/** The registry the worktrees' blocks (and, for a corrupt file still JSON, its allocations made by name) describe. */
async function registryFromBlocks(ctx: Context, worktrees: { path: string; vars: Map<string, string> }[], corruptBytes: Buffer | null) {
  const config = await ctx.config();
  const now = ctx.now();
  const registry = emptyRegistry(now.toISOString(), config.ranges);
  const built = allocationsFromEnv(worktrees, config, registry, now.toISOString(), currentUser());
  const salvaged = corruptBytes ? salvageByName(corruptBytes.toString('utf8'), { ...registry, allocations: built.allocations }) : { kept: [], skipped: [] };
  registry.allocations = [...built.allocations, ...salvaged.kept];
  registry.metadata.total_allocations = registry.allocations.length;
  registry.metadata.rebuilt_at = now.toISOString();
  return { registry, built, salvaged };
}

/**
 * Rebuilds the store's registry from the worktrees' blocks. `corruptBytes`: the corrupt file as
 * diagnosed (kept as a backup, replaced only if still corrupt); null: the registry was lost
 * (deleted, `git clean -fdx`) and is created only if still missing.
 */
export async function rebuildRegistry(ctx: Context, store: RegistryStore, corruptBytes: Buffer | null): Promise<RebuildResult> {
  const { worktrees, skipped } = await readWorktreeBlocks(ctx);
  const { registry, built, salvaged } = await registryFromBlocks(ctx, worktrees, corruptBytes);
  const backup = await store.replace(registry, corruptBytes);
  const recovered = worktrees
    .map((w) => ({ worktree: path.basename(w.path), path: w.path, ports: built.allocations.filter((a) => a.worktree_path === w.path).map((a) => a.port) }))
    .filter((r) => r.ports.length > 0);
  return { backup, registry, recovered, byName: salvaged.kept.length, rangesChanged: built.rangesChanged, skipped: [...skipped, ...built.skipped, ...salvaged.skipped] };
}

/**
 * For a registry about to be created (the hook, `ports allocate`, `ports init`): when live
 * worktrees' blocks still name ports — the registry was deleted, or `git clean -fdx` in the main
 * worktree took it — the registry they describe, so nothing they hold is handed out again;
 * null when no block names a port. Runs under the registry lock, before anything is allocated.
 */
export async function recoverFromEnv(ctx: Context): Promise<Registry | null> {
  let blocks: Awaited<ReturnType<typeof readWorktreeBlocks>>;
  try {
    blocks = await readWorktreeBlocks(ctx);
  } catch (error) {
    if (!(error instanceof PortsError)) throw error;
    return null; // no repository around (--registry used directly): no worktrees to recover from
  }
  const { registry, built } = await registryFromBlocks(ctx, blocks.worktrees, null);
  if (built.allocations.length === 0) return null;
  const holders = new Set(built.allocations.map((a) => a.worktree)).size;
  ctx.out.warn(
    `the port registry was missing while the .env blocks of ${holders} worktree${holders === 1 ? '' : 's'} name ports (deleted by hand, or by \`git clean -fdx\`); rebuilt it from them, keeping every port${[...built.rangesChanged, ...built.skipped, ...blocks.skipped].map((x) => `; ${x}`).join('')}.`,
  );
  return registry;
}
