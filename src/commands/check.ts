/**
 * `ports check`: the conflict report (SPEC §5). Gathers what the rules in core/conflicts need —
 * the registry, `git worktree list`, who listens on the allocated ports, what Docker publishes,
 * each worktree's .env block — and prints every conflict with the command that resolves it.
 * Reads only; exit 4 when any conflict is found, 0 when clean.
 */
import * as fs from 'node:fs';
import type { Context } from '../context';
import type { PortsConfig } from '../config/schema';
import { CONFLICT_KINDS, findConflicts, type Conflict, type ConflictKind, type EnvFact } from '../core/conflicts';
import { planReconcile } from '../core/reconcile';
import type { Registry } from '../core/registry-schema';
import { ExitCode, PortsError, UsageError } from '../errors';
import { listPublishedPorts } from '../io/docker';
import { readWorktreeEnv } from '../io/env-file';
import { findListeners } from '../io/listeners';
import { envVarsFor, projectNameFor } from '../ops/env-sync';
import { snapshotForReconcile } from '../ops/reconcile';
import type { WorktreeSnapshot } from '../ops/worktrees';

export interface CheckOptions {
  /** Conflict kinds not to report (e.g. allocation_mismatch in CI where nothing runs). */
  ignore: string[];
}

const KIND_TITLES: Record<ConflictKind, string> = {
  registry_conflict: 'registry conflict',
  system_conflict: 'system conflict',
  vanished_worktree: 'vanished worktree',
  env_out_of_step: '.env out of step',
  overridden_variable: 'port variable overridden',
  outside_range: 'port outside its range',
  unknown_service: 'unknown service',
  overlapping_ranges: 'overlapping ranges',
  metadata_out_of_step: 'metadata out of step',
  allocation_mismatch: 'allocation mismatch',
};

export function parseIgnoredKinds(values: readonly string[]): Set<ConflictKind> {
  const kinds = new Set<ConflictKind>();
  for (const value of values.flatMap((v) => v.split(','))) {
    const kind = value.trim().replace(/-/g, '_') as ConflictKind;
    if (!CONFLICT_KINDS.includes(kind)) {
      throw new UsageError(`Unknown conflict kind "${value}" for --ignore.`, `Kinds: ${CONFLICT_KINDS.join(', ')}.`);
    }
    kinds.add(kind);
  }
  return kinds;
}

/** Expected and actual managed block of every live worktree, and the Compose project each one uses. */
async function gatherEnvFacts(
  ctx: Context,
  registry: Registry,
  config: PortsConfig,
  snapshot: WorktreeSnapshot,
): Promise<{ env: EnvFact[]; composeProjects: Map<string, string> }> {
  const env: EnvFact[] = [];
  const composeProjects = new Map<string, string>();
  for (const worktree of snapshot.worktrees) {
    // A locked worktree may have no folder (on a drive not mounted now): no env file to compare.
    if (worktree.bare || worktree.prunable || !fs.existsSync(worktree.canonicalPath)) continue;
    const root = worktree.canonicalPath;
    const mine = registry.allocations.filter((a) => a.worktree_path === root);
    const project = await projectNameFor(ctx, root);
    const expected = envVarsFor(mine, config, project);
    const name = root.split(/[\\/]/).pop() ?? root;
    let actual: Map<string, string> | null = null;
    let file = root;
    let error: string | null = null;
    let setOutside: { name: string; line: number }[] = [];
    try {
      const read = readWorktreeEnv(root, config.envFile);
      ({ file, vars: actual, setOutside } = read);
    } catch (e) {
      if (!(e instanceof PortsError)) throw e;
      error = e.message;
    }
    composeProjects.set(root, actual?.get('COMPOSE_PROJECT_NAME') ?? project);
    env.push({ worktree: name, worktreePath: root, file, expected, actual, error, setOutside });
  }
  return { env, composeProjects };
}

export async function collectConflicts(ctx: Context): Promise<{ conflicts: Conflict[]; registry: Registry; docker: boolean; worktrees: number }> {
  const store = await ctx.store();
  const registry = store.read();
  const config = await ctx.config();
  const snapshot = await snapshotForReconcile(ctx);
  const ports = [...new Set(registry.allocations.map((a) => a.port))];
  const [listeners, published, envFacts] = await Promise.all([
    findListeners(ports),
    listPublishedPorts({ onSkip: (reason) => ctx.out.debug(`docker: ${reason}`) }),
    snapshot ? gatherEnvFacts(ctx, registry, config, snapshot) : Promise.resolve({ env: [], composeProjects: new Map<string, string>() }),
  ]);
  const conflicts = findConflicts({
    registry,
    liveWorktrees: snapshot ? snapshot.worktrees.filter((w) => !w.bare && !w.prunable).map((w) => w.canonicalPath) : null,
    vanished: snapshot ? planReconcile(registry.allocations, snapshot.facts).release : [],
    listeners,
    published,
    env: envFacts.env,
    composeProjects: envFacts.composeProjects,
    sep: process.platform === 'win32' ? '\\' : '/',
  });
  return { conflicts, registry, docker: published !== null, worktrees: envFacts.env.length };
}

function printConflict(ctx: Context, c: Conflict): void {
  const { out } = ctx;
  out.result(`${out.style('red', '✗')} ${out.style('bold', KIND_TITLES[c.kind])}${c.ports.length ? `  port ${c.ports.join(', ')}` : ''}`);
  out.result(`  ${c.message}`);
  out.result(`  ${out.style('cyan', '→')} ${c.resolution}`);
}

export async function check(ctx: Context, options: CheckOptions): Promise<number> {
  const ignored = parseIgnoredKinds(options.ignore);
  const { conflicts: all, registry, docker, worktrees } = await collectConflicts(ctx);
  const conflicts = all.filter((c) => !ignored.has(c.kind));
  if (ctx.out.json) {
    ctx.out.data({
      ok: conflicts.length === 0,
      conflicts,
      ignored: all.length - conflicts.length,
      checked: { allocations: registry.allocations.length, worktrees, docker },
    });
  } else if (ctx.out.quiet) {
    for (const c of conflicts) ctx.out.result(`${c.kind}\t${c.ports.join(',')}`);
  } else {
    conflicts.forEach((c, i) => {
      if (i > 0) ctx.out.result('');
      printConflict(ctx, c);
    });
  }
  const scope = `${registry.allocations.length} allocation${registry.allocations.length === 1 ? '' : 's'}, ${worktrees} worktree${worktrees === 1 ? '' : 's'}${docker ? ', Docker' : ''}`;
  const skipped = all.length - conflicts.length ? ` (${all.length - conflicts.length} ignored)` : '';
  if (conflicts.length === 0) {
    ctx.out.info(`No conflicts (${scope})${skipped}.`);
    return ExitCode.ok;
  }
  const counts = new Map<ConflictKind, number>();
  for (const c of conflicts) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
  const summary = [...counts].map(([kind, n]) => `${n} ${KIND_TITLES[kind]}`).join(', ');
  ctx.out.info(`${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}: ${summary} (${scope})${skipped}. Run the command after each → to resolve it.`);
  return ExitCode.conflict;
}
