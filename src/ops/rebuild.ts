/**
 * Rebuild a corrupt registry from what the worktrees still say: each live worktree's managed
 * .env block holds its ports under the configured variable names (default PORT_<SERVICE>).
 * The bad file is kept next to the registry as a timestamped backup first; the new one is
 * written under the registry lock with an atomic replace, and only if the file on disk is
 * still the corrupt one we looked at (another process may have repaired it meanwhile).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import { defaultEnvName, type PortsConfig } from '../config/schema';
import { emptyRegistry, validateRegistry, type Allocation, type Registry } from '../core/registry-schema';
import { PortsError, RegistryError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import { readWorktreeEnv } from '../io/env-file';
import { listWorktrees } from '../io/git';
import { acquireLock } from '../io/lock';
import { currentUser, parseRegistryText } from '../io/registry-store';
import { canonicalPath } from './worktrees';

export interface RebuildResult {
  /** Where the corrupt file was kept; null when there was no file. */
  backup: string | null;
  registry: Registry;
  /** Worktrees whose .env gave ports. */
  recovered: { worktree: string; path: string; ports: number[] }[];
  /** Allocations made by name kept from the corrupt file (when it was still JSON). */
  byName: number;
  /** What could not be taken over (a port claimed twice, outside every range, unreadable blocks). */
  skipped: string[];
}

/** The service a variable of the managed block stands for: the configured name first, then PORT_<SERVICE> of a known range. */
export function serviceOfVariable(name: string, config: PortsConfig, rangeNames: readonly string[]): string | null {
  const declared = config.services.find((s) => s.env === name);
  if (declared) return declared.name;
  return rangeNames.find((r) => defaultEnvName(r) === name) ?? null;
}

/** Pure part: allocations from the worktrees' blocks, main worktree first, so a port claimed twice stays with the first claimant. */
export function allocationsFromEnv(
  worktrees: readonly { path: string; vars: ReadonlyMap<string, string> }[],
  config: PortsConfig,
  registry: Registry,
  stamp: string,
  allocatedBy: string,
): { allocations: Allocation[]; skipped: string[] } {
  const allocations: Allocation[] = [];
  const skipped: string[] = [];
  const rangeNames = Object.keys(registry.ranges);
  for (const w of worktrees) {
    const name = path.basename(w.path);
    for (const [variable, value] of w.vars) {
      if (variable === 'COMPOSE_PROJECT_NAME') continue;
      const service = serviceOfVariable(variable, config, rangeNames);
      const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
      if (!service) {
        skipped.push(`${name}: ${variable}=${value} names no known service`);
        continue;
      }
      const range = registry.ranges[service]!;
      if (!(port >= range.start && port <= range.end)) {
        skipped.push(`${name}: ${variable}=${value} is not a port of the ${service} range ${range.start}-${range.end}`);
        continue;
      }
      const holder = allocations.find((a) => a.port === port);
      if (holder) {
        skipped.push(`${name}: ${variable}=${port} is also claimed by ${holder.worktree}, which keeps it`);
        continue;
      }
      if (allocations.some((a) => a.worktree_path === w.path && a.service === service)) {
        skipped.push(`${name}: a second port for ${service} (${variable}=${port})`);
        continue;
      }
      const description = config.services.find((s) => s.name === service)?.description ?? '';
      allocations.push({
        port,
        worktree: name,
        service,
        allocated_at: stamp,
        allocated_by: allocatedBy,
        description,
        process_id: null,
        health_status: 'unknown',
        worktree_path: w.path,
        rebuilt_from: 'env',
      });
    }
  }
  return { allocations, skipped };
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

/** `<registry>.corrupt-2026-11-24T22-05-01-123Z`, never overwriting an older backup. */
export function backupName(file: string, now: Date): string {
  const base = `${file}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
  let name = base;
  for (let i = 2; fs.existsSync(name); i++) name = `${base}-${i}`;
  return name;
}

function isStillCorrupt(file: string, text: string): boolean {
  try {
    parseRegistryText(file, text);
    return false;
  } catch {
    return true;
  }
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

/**
 * Rebuilds the registry at `file` from the worktrees' blocks. `corruptBytes`: the corrupt file as
 * diagnosed (kept as a backup, replaced only if still corrupt); null: the registry was lost
 * (deleted, `git clean -fdx`) and is created only if still missing.
 */
export async function rebuildRegistry(ctx: Context, file: string, corruptBytes: Buffer | null): Promise<RebuildResult> {
  const config = await ctx.config();
  const { worktrees, skipped } = await readWorktreeBlocks(ctx);
  const now = ctx.now();
  const registry = emptyRegistry(now.toISOString(), config.ranges);
  const built = allocationsFromEnv(worktrees, config, registry, now.toISOString(), currentUser());
  const salvaged = corruptBytes ? salvageByName(corruptBytes.toString('utf8'), { ...registry, allocations: built.allocations }) : { kept: [], skipped: [] };
  registry.allocations = [...built.allocations, ...salvaged.kept];
  registry.metadata.total_allocations = registry.allocations.length;
  registry.metadata.rebuilt_at = now.toISOString();

  const backup = await replaceRegistryFile(file, corruptBytes, registry, now);
  const recovered = worktrees
    .map((w) => ({ worktree: path.basename(w.path), path: w.path, ports: built.allocations.filter((a) => a.worktree_path === w.path).map((a) => a.port) }))
    .filter((r) => r.ports.length > 0);
  return { backup, registry, recovered, byName: salvaged.kept.length, skipped: [...skipped, ...built.skipped, ...salvaged.skipped] };
}

/**
 * Writes `registry` in place of an unreadable registry (`corruptBytes`: the file as diagnosed) or
 * of a lost one (null), under the lock, and only if the file is still as diagnosed — still
 * corrupt, or still missing. The bad file is kept first as a backup; returns its name.
 */
export async function replaceRegistryFile(file: string, corruptBytes: Buffer | null, registry: Registry, now: Date): Promise<string | null> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const lock = await acquireLock(file);
  try {
    const current = fs.existsSync(file) ? fs.readFileSync(file) : null;
    const untouched = corruptBytes ? current !== null && (current.equals(corruptBytes) || isStillCorrupt(file, current.toString('utf8'))) : current === null;
    if (!untouched) {
      throw new RegistryError(file, `${file} was ${corruptBytes ? 'repaired' : 'created'} by another process in the meantime; nothing was changed.`, { hint: 'Run the command again.' });
    }
    let backup: string | null = null;
    if (corruptBytes) {
      backup = backupName(file, now);
      fs.copyFileSync(file, backup, fs.constants.COPYFILE_EXCL);
    }
    writeFileAtomic(file, JSON.stringify(registry, null, 2) + '\n');
    return backup;
  } finally {
    try {
      lock.release();
    } catch {
      // See RegistryStore.update: a failed release is taken over by the next run.
    }
  }
}
