/**
 * `ports check`: the conflict report. ops/conflicts gathers what the rules in core/conflicts
 * need — the registry, `git worktree list`, who listens on the allocated ports, what Docker
 * publishes, each worktree's .env block; this prints every conflict with the command that
 * resolves it. Reads only; exit 4 when any conflict is found, 0 when clean.
 */
import type { Context } from '../context';
import { CONFLICT_KINDS, type Conflict, type ConflictKind } from '../core/conflicts';
import { ExitCode, UsageError } from '../errors';
import { collectConflicts } from '../ops/conflicts';

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
  container_name: 'fixed container_name',
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
