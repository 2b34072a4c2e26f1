/**
 * Conflict rules, pure: the registry, the live worktrees, the listeners, the env files
 * and the containers go in; a list of conflicts comes out, each with the worktrees and dates
 * involved, the process or container, and the command that resolves it. Used by `ports check`
 * (and `ports doctor`), which gather the facts.
 */
import { worktreeOf } from './health-status';
import type { Allocation, Registry } from './registry-schema';
import { compareText } from './compare';

export const CONFLICT_KINDS = [
  'registry_conflict',
  'system_conflict',
  'vanished_worktree',
  'env_out_of_step',
  'overridden_variable',
  'outside_range',
  'unknown_service',
  'overlapping_ranges',
  'metadata_out_of_step',
  'allocation_mismatch',
  'container_name',
] as const;
export type ConflictKind = (typeof CONFLICT_KINDS)[number];

export interface AllocationRef {
  port: number;
  worktree: string;
  service: string;
  allocated_at: string;
  worktree_path: string | null;
}

export interface ProcessRef {
  pid: number | null;
  command: string | null;
  cwd: string | null;
  address: string;
}

export interface ContainerRef {
  name: string;
  id: string;
  image: string;
  compose_project: string | null;
  compose_service: string | null;
}

export interface Conflict {
  kind: ConflictKind;
  message: string;
  ports: number[];
  worktrees: string[];
  allocations: AllocationRef[];
  process: ProcessRef | null;
  container: ContainerRef | null;
  /** What to run (or do) to resolve it. */
  resolution: string;
}

export interface ListenerFact {
  port: number;
  address: string;
  pid: number | null;
  command: string | null;
  cwd: string | null;
}

export interface PublishedPortFact {
  hostPort: number;
  containerName: string;
  containerId: string;
  image: string;
  composeProject: string | null;
  composeService: string | null;
}

/** What a worktree's env file holds, against what the registry says it should. */
export interface EnvFact {
  worktree: string;
  worktreePath: string;
  file: string;
  /** The managed block's variables as the registry and config say; empty: no block wanted. */
  expected: ReadonlyArray<readonly [string, string]>;
  /** The block's variables on disk; null when the file or the block is missing. */
  actual: ReadonlyMap<string, string> | null;
  /** A block that cannot be read (two blocks, no end marker). */
  error: string | null;
  /** User lines outside the block that set one of its variables again. */
  setOutside?: ReadonlyArray<{ name: string; line: number }>;
}

export interface ConflictFacts {
  registry: Registry;
  /** Canonical paths of live (non-bare) worktrees; null outside a repository. */
  liveWorktrees: readonly string[] | null;
  /** Allocations whose worktree is gone or prunable (the reconcile plan's `release`). */
  vanished: readonly Allocation[];
  listeners: readonly ListenerFact[];
  /** null: no Docker on this machine. */
  published: readonly PublishedPortFact[] | null;
  env: readonly EnvFact[];
  /** COMPOSE_PROJECT_NAME of each worktree path, to recognise a worktree's own containers. */
  composeProjects: ReadonlyMap<string, string>;
  /** Path separator of the platform, for "is this cwd inside that worktree". */
  sep?: string;
  /** Fixed `container_name:` settings in the worktree's compose files. */
  containerNames?: ReadonlyArray<{ file: string; line: number; composeService: string; name: string }>;
}

function ref(a: Allocation): AllocationRef {
  return { port: a.port, worktree: a.worktree, service: a.service, allocated_at: a.allocated_at, worktree_path: a.worktree_path ?? null };
}

function conflict(kind: ConflictKind, message: string, resolution: string, allocations: Allocation[], extra: Partial<Conflict> = {}): Conflict {
  const refs = allocations.map(ref);
  return {
    kind,
    message,
    ports: [...new Set(refs.map((a) => a.port))],
    worktrees: [...new Set(refs.map((a) => a.worktree))],
    allocations: refs,
    process: null,
    container: null,
    resolution,
    ...extra,
  };
}

const day = (iso: string): string => iso.slice(0, 10);
const owner = (a: Allocation): string => `${a.service} of ${a.worktree} (since ${day(a.allocated_at)})`;
/** Runs a command for a worktree: in its folder when it has one, by name otherwise. */
const inWorktree = (a: Allocation, command: string): string =>
  a.worktree_path ? `ports ${command} --cwd ${shellQuote(a.worktree_path)}` : `ports ${command} --worktree ${shellQuote(a.worktree)}`;

export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function registryConflicts(allocations: readonly Allocation[]): Conflict[] {
  const byPort = new Map<number, Allocation[]>();
  for (const a of allocations) byPort.set(a.port, [...(byPort.get(a.port) ?? []), a]);
  const found: Conflict[] = [];
  for (const [port, holders] of byPort) {
    if (holders.length < 2) continue;
    const [keeper, ...others] = [...holders].sort((a, b) => compareText(a.allocated_at, b.allocated_at));
    const newer = others[others.length - 1]!;
    found.push(
      conflict(
        'registry_conflict',
        `Port ${port} is allocated ${holders.length} times: ${holders.map(owner).join('; ')}. ${keeper!.worktree} had it first.`,
        // `release PORT` would drop every holder; by service it takes only the newer one's.
        `Keep it for ${keeper!.worktree}; move ${newer.worktree} to another port: ${inWorktree(newer, `release --service ${newer.service}`)} && ${inWorktree(newer, `allocate ${newer.service}`)}`,
        holders,
      ),
    );
  }
  return found;
}


function containerRef(p: PublishedPortFact): ContainerRef {
  return { name: p.containerName, id: p.containerId.slice(0, 12), image: p.image, compose_project: p.composeProject, compose_service: p.composeService };
}

function describeProcess(l: ListenerFact): string {
  if (l.pid === null) return `a process of another user (PID hidden; try \`sudo ports which ${l.port}\`)`;
  return `PID ${l.pid} (${l.command ?? '?'})${l.cwd ? ` running in ${l.cwd}` : ''}`;
}

/**
 * A port of a worktree held by something that is not the worktree's: a process whose working
 * directory is outside the worktree (or hidden), or a container of another Compose project.
 * Allocations made by name have no folder to compare with and are not judged.
 */
function systemConflicts(facts: ConflictFacts, active: readonly Allocation[]): { conflicts: Conflict[]; held: Set<number> } {
  const sep = facts.sep ?? '/';
  const live = facts.liveWorktrees ?? [];
  const conflicts: Conflict[] = [];
  const held = new Set<number>();
  for (const a of active) {
    const containers = (facts.published ?? []).filter((p) => p.hostPort === a.port);
    const listeners = facts.listeners.filter((l) => l.port === a.port);
    if (containers.length > 0 || listeners.length > 0) held.add(a.port);
    if (!a.worktree_path) continue;
    const move = `give ${a.worktree} another port: ${inWorktree(a, `release ${a.port}`)} && ${inWorktree(a, `allocate ${a.service}`)}`;
    if (containers.length > 0) {
      // Docker's proxy is the listener of a published port; the container is the real holder.
      const project = facts.composeProjects.get(a.worktree_path);
      const foreign = containers.find((c) => !project || c.composeProject !== project);
      if (foreign) {
        conflicts.push(
          conflict(
            'system_conflict',
            `Port ${a.port} (${owner(a)}) is published by container ${foreign.containerName} (${foreign.image}${foreign.composeProject ? `, Compose project ${foreign.composeProject}` : ''}), not by ${a.worktree}'s stack${project ? ` (${project})` : ''}.`,
            `docker stop ${shellQuote(foreign.containerName)} — or ${move}`,
            [a],
            { container: containerRef(foreign) },
          ),
        );
      }
      continue;
    }
    const seen = new Set<string>();
    for (const l of listeners) {
      const key = `${l.pid}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (l.cwd !== null && worktreeOf(l.cwd, live, sep) === a.worktree_path) continue;
      const elsewhere = l.cwd !== null ? worktreeOf(l.cwd, live, sep) : null;
      conflicts.push(
        conflict(
          'system_conflict',
          `Port ${a.port} (${owner(a)}) is held by ${describeProcess(l)}${elsewhere ? `, which belongs to the worktree at ${elsewhere}` : ''}, not by a process of ${a.worktree}.`,
          l.pid !== null ? `kill ${l.pid} — or ${move}` : `Stop that process (\`sudo ports which ${a.port}\` shows it), or ${move}`,
          [a],
          { process: { pid: l.pid, command: l.command, cwd: l.cwd, address: l.address } },
        ),
      );
    }
  }
  return { conflicts, held };
}

function envConflicts(env: readonly EnvFact[], allocations: readonly Allocation[]): Conflict[] {
  const found: Conflict[] = [];
  for (const fact of env) {
    const mine = allocations.filter((a) => a.worktree_path === fact.worktreePath);
    const fix = `ports env --cwd ${shellQuote(fact.worktreePath)}`;
    if (fact.error !== null) {
      found.push(conflict('env_out_of_step', `${fact.file}: ${fact.error}`, `Repair the block by hand, then ${fix}`, mine, { worktrees: [fact.worktree] }));
      continue;
    }
    for (const { name, line } of fact.setOutside ?? []) {
      found.push(
        conflict(
          'overridden_variable',
          `${fact.file}:${line} sets ${name} outside the ports block; dotenv, Docker Compose and \`set -a\` read one value for it, so the port ports allocated is not the one used.`,
          `Delete line ${line} of ${fact.file} (ports writes ${name} in its block), or give the service another variable name (\`services.<name>.env\` in your ports config).`,
          mine,
          { worktrees: [fact.worktree] },
        ),
      );
    }
    const problems: string[] = [];
    const actual = fact.actual ?? new Map<string, string>();
    for (const [name, value] of fact.expected) {
      const onDisk = actual.get(name);
      if (onDisk === undefined) problems.push(`${name} is missing (should be ${value})`);
      else if (onDisk !== value) problems.push(`${name}=${onDisk} but the registry says ${value}`);
    }
    const expectedNames = new Set(fact.expected.map(([name]) => name));
    for (const [name, value] of actual) if (!expectedNames.has(name)) problems.push(`${name}=${value} is not allocated any more`);
    if (problems.length === 0) continue;
    const what = fact.actual === null ? `has no ports block (${fact.expected.map(([n, v]) => `${n}=${v}`).join(', ')} expected)` : `is out of step with the registry: ${problems.join('; ')}`;
    found.push(conflict('env_out_of_step', `${fact.file} ${what}.`, fix, mine, { worktrees: [fact.worktree] }));
  }
  return found;
}

function rangeConflicts(registry: Registry): Conflict[] {
  const found: Conflict[] = [];
  for (const a of registry.allocations) {
    const range = Object.prototype.hasOwnProperty.call(registry.ranges, a.service) ? registry.ranges[a.service] : undefined;
    if (!range) {
      found.push(
        conflict(
          'unknown_service',
          `Port ${a.port} is allocated to service "${a.service}" of ${a.worktree}, which has no range (known: ${Object.keys(registry.ranges).join(', ') || 'none'}).`,
          `Add a "${a.service}" range under "ranges" in your ports config and run \`ports init --force\`, or ${inWorktree(a, `release ${a.port}`)}`,
          [a],
        ),
      );
    } else if (a.port < range.start || a.port > range.end) {
      found.push(
        conflict(
          'outside_range',
          `Port ${a.port} (${owner(a)}) is outside the ${a.service} range ${range.start}-${range.end}.`,
          `${inWorktree(a, `release ${a.port}`)} && ${inWorktree(a, `allocate ${a.service}`)}`,
          [a],
        ),
      );
    }
  }
  const ranges = Object.entries(registry.ranges).sort(([, a], [, b]) => a.start - b.start || a.end - b.end);
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const [nameA, a] = ranges[i]!;
      const [nameB, b] = ranges[j]!;
      if (b.start > a.end) break;
      const shared = `${b.start}-${Math.min(a.end, b.end)}`;
      found.push(
        conflict(
          'overlapping_ranges',
          `The ranges ${nameA} (${a.start}-${a.end}) and ${nameB} (${b.start}-${b.end}) overlap on ${shared}: one port could be meant for two kinds of service.`,
          'Make the ranges disjoint under "ranges" in your ports config, then run `ports init --force`.',
          registry.allocations.filter((x) => x.port >= b.start && x.port <= Math.min(a.end, b.end)),
        ),
      );
    }
  }
  return found;
}

function metadataConflicts(registry: Registry): Conflict[] {
  const problems: string[] = [];
  const { metadata, allocations } = registry;
  if (metadata.total_allocations !== allocations.length) {
    problems.push(`metadata.total_allocations is ${metadata.total_allocations} but there are ${allocations.length} allocations`);
  }
  const newest = allocations.reduce<string | null>((max, a) => (max === null || a.allocated_at > max ? a.allocated_at : max), null);
  if (newest !== null && Date.parse(metadata.last_updated) < Date.parse(newest)) {
    problems.push(`metadata.last_updated (${metadata.last_updated}) is older than the newest allocation (${newest})`);
  }
  if (problems.length === 0) return [];
  return [conflict('metadata_out_of_step', `The registry's metadata is out of step: ${problems.join('; ')}.`, 'ports doctor --fix', [])];
}

/** Every conflict, in the order a user should deal with them. */
export function findConflicts(facts: ConflictFacts): Conflict[] {
  const { registry } = facts;
  const vanished = new Set(facts.vanished);
  const active = registry.allocations.filter((a) => !vanished.has(a));
  const system = systemConflicts(facts, active);
  const mismatches = active
    .filter((a) => !system.held.has(a.port))
    .map((a) =>
      conflict(
        'allocation_mismatch',
        `Port ${a.port} is allocated (${owner(a)}) but nothing listens on it.`,
        `Start ${a.worktree}'s ${a.service} service on ${a.port}, or ${inWorktree(a, `release ${a.port}`)}`,
        [a],
      ),
    );
  const gone = [...vanished].map((a) =>
    conflict(
      'vanished_worktree',
      `Port ${a.port} (${owner(a)}) belongs to a worktree that no longer exists${a.worktree_path ? ` (${a.worktree_path})` : ''}.`,
      'ports sync',
      [a],
    ),
  );
  const found = [
    ...registryConflicts(registry.allocations),
    ...system.conflicts,
    ...gone,
    ...envConflicts(facts.env, active),
    ...rangeConflicts(registry),
    ...metadataConflicts(registry),
    ...mismatches,
    ...(facts.containerNames ?? []).map((c) =>
      conflict(
        'container_name',
        `${c.file}:${c.line}: service ${c.composeService} sets container_name "${c.name}": every worktree's stack creates that one container, so a second stack cannot start (the per-worktree COMPOSE_PROJECT_NAME does not apply to it).`,
        'ports compose --interpolate (makes it per-project), or remove container_name',
        [],
      ),
    ),
  ];
  return found.sort((a, b) => CONFLICT_KINDS.indexOf(a.kind) - CONFLICT_KINDS.indexOf(b.kind));
}
