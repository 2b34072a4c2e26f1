/**
 * Where a port is chosen, and the other pure operations on the registry's allocations. No I/O:
 * whether a port is free on the machine is asked through the `isFree` callback.
 */
import { ConflictError, RangeExhaustedError, UnknownServiceError, UsageError } from '../errors';
import { allocationProblems, type Allocation, type PortRange, type Registry } from './registry-schema';

/** Who an allocation belongs to: a real worktree (by path) or a name given by a script. */
export interface Owner {
  worktree: string;
  worktreePath?: string;
  worktreeId?: string;
}

export function ownsAllocation(owner: Owner, allocation: Allocation): boolean {
  if (owner.worktreePath) return allocation.worktree_path === owner.worktreePath;
  return allocation.worktree === owner.worktree && !allocation.worktree_path;
}

export function allocationsOf(registry: Registry, owner: Owner): Allocation[] {
  return registry.allocations.filter((a) => ownsAllocation(owner, a));
}

export function rangeOf(registry: Registry, service: string): PortRange {
  const range = Object.prototype.hasOwnProperty.call(registry.ranges, service) ? registry.ranges[service] : undefined;
  if (!range) throw new UnknownServiceError(service, Object.keys(registry.ranges));
  return range;
}

/** Ports held by other registries of the machine, each with its holder in words. */
export type HeldElsewhere = ReadonlyMap<number, string>;

const NOWHERE: HeldElsewhere = new Map();

/** The registry's ports, plus those held by the other registries of the machine. */
export function takenPorts(registry: Registry, elsewhere: HeldElsewhere = NOWHERE): Set<number> {
  const taken = new Set(elsewhere.keys());
  for (const a of registry.allocations) taken.add(a.port);
  return taken;
}

/** Ports of the range that the registry does not hold, lowest first. */
export function unallocatedPorts(range: PortRange, taken: ReadonlySet<number>): number[] {
  const ports: number[] = [];
  for (let port = range.start; port <= range.end; port++) if (!taken.has(port)) ports.push(port);
  return ports;
}

/** The lowest port of `range` not in `taken`, from `from` on; undefined when there is none. */
export function firstUnallocated(range: PortRange, taken: ReadonlySet<number>, from = range.start): number | undefined {
  for (let port = Math.max(from, range.start); port <= range.end; port++) if (!taken.has(port)) return port;
  return undefined;
}

/** Compresses sorted ports into `8082-8085, 8090` text. */
export function describePortSet(ports: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ports.length; ) {
    let j = i;
    while (j + 1 < ports.length && ports[j + 1] === (ports[j] as number) + 1) j++;
    parts.push(i === j ? String(ports[i]) : `${ports[i]}-${ports[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/**
 * The lowest port of the service's range that is neither in the registry, nor in another
 * registry of the machine, nor busy on the machine (docs/design.md, "Data flow of an
 * allocation"). Busy ports are skipped, not handed out.
 */
export async function pickPort(
  registry: Registry,
  service: string,
  isFree: (port: number) => Promise<boolean>,
  elsewhere: HeldElsewhere = NOWHERE,
): Promise<{ port: number; skippedBusy: number[] }> {
  const range = rangeOf(registry, service);
  const taken = takenPorts(registry, elsewhere);
  const skippedBusy: number[] = [];
  // One candidate at a time: a wide range of a large registry need not be listed to find the first.
  for (let port = firstUnallocated(range, taken); port !== undefined; port = firstUnallocated(range, taken, port + 1)) {
    if (await isFree(port)) return { port, skippedBusy };
    skippedBusy.push(port);
  }
  const size = range.end - range.start + 1;
  const held = size - unallocatedPorts(range, taken).length;
  const inOthers = unallocatedPorts(range, takenPorts(registry)).filter((p) => elsewhere.has(p)).length;
  const others = inOthers ? ` (${inOthers} of them by other repositories)` : '';
  throw new RangeExhaustedError(service, range, `${held} allocated${others}, ${skippedBusy.length} in use by other processes`);
}

export interface AllocationInput {
  owner: Owner;
  service: string;
  description?: string;
  /** A specific port instead of the lowest free one. */
  port?: number;
  allocatedBy: string;
  now: string;
  /** The repository the owner's worktree belongs to (its main worktree root), recorded as `repo`. */
  repo?: string;
  /** Ports the other registries of the machine hold. */
  elsewhere?: HeldElsewhere;
}

export interface AllocationOutcome {
  allocation: Allocation;
  /** False when the owner already held a port for the service (allocation is idempotent). */
  created: boolean;
}

function newAllocation(input: AllocationInput, port: number): Allocation {
  const allocation: Allocation = {
    port,
    worktree: input.owner.worktree,
    service: input.service,
    allocated_at: input.now,
    allocated_by: input.allocatedBy,
    description: input.description ?? '',
    process_id: null,
    health_status: 'unknown',
  };
  if (input.owner.worktreePath) allocation.worktree_path = input.owner.worktreePath;
  if (input.owner.worktreeId) allocation.worktree_id = input.owner.worktreeId;
  // A registry shared by several repositories (PORTS_REGISTRY) must tell whose worktree this is.
  if (input.owner.worktreePath && input.repo) allocation.repo = input.repo;
  return allocation;
}

/**
 * The door: a worktree folder name or path, or a description, that the registry's reader would
 * reject (control characters such as TAB or newline, over-long text) is refused here, before
 * anything is written; otherwise one bad name would make every command of every worktree fail.
 */
function checkRecordable(input: AllocationInput, anyPort: number): void {
  const candidate = newAllocation(input, anyPort);
  const problems = allocationProblems(candidate);
  if (problems.length === 0) return;
  const fromFolder = input.owner.worktreePath !== undefined && problems.some((p) => /^(worktree|worktree_path|worktree_id)\b/.test(p));
  throw new UsageError(
    `Cannot record a ${input.service} port for ${JSON.stringify(input.owner.worktreePath ?? input.owner.worktree)}: ${problems.join('; ')}.`,
    fromFolder
      ? 'Rename the worktree folder without tabs, newlines or other control characters (`git worktree move OLD NEW`), then run `ports allocate`.'
      : 'Give a name and a description on one line, without control characters (description: at most 1000 characters).',
  );
}

/**
 * Allocates (or returns the existing) port for one (owner, service) and records it in
 * `registry`. Throws typed errors: unknown service (1), port outside range (1), taken (4),
 * range exhausted (3).
 */
export async function allocateInRegistry(
  registry: Registry,
  input: AllocationInput,
  isFree: (port: number) => Promise<boolean>,
): Promise<AllocationOutcome> {
  const range = rangeOf(registry, input.service);
  const existing = registry.allocations.find((a) => a.service === input.service && ownsAllocation(input.owner, a));
  if (existing) {
    if (input.port !== undefined && input.port !== existing.port) {
      throw new ConflictError(
        `${input.owner.worktree} already holds port ${existing.port} for ${input.service}.`,
        `Release it first: \`ports release ${existing.port}\`, then ask for ${input.port} again.`,
      );
    }
    return { allocation: existing, created: false };
  }
  checkRecordable(input, range.start);
  let port: number;
  if (input.port !== undefined) {
    if (input.port < range.start || input.port > range.end) {
      throw new UsageError(
        `Port ${input.port} is outside the ${input.service} range ${range.start}-${range.end}.`,
        `Choose a port in ${range.start}-${range.end}, or widen the range in your ports config.`,
      );
    }
    const holder = registry.allocations.find((a) => a.port === input.port);
    if (holder) {
      throw new ConflictError(
        `Port ${input.port} is already allocated to ${holder.worktree} (${holder.service}, since ${holder.allocated_at}).`,
        `Run \`ports next ${input.service}\` for a free one, or \`ports release ${input.port}\` if ${holder.worktree} no longer needs it.`,
      );
    }
    const other = input.elsewhere?.get(input.port);
    if (other !== undefined) {
      throw new ConflictError(
        `Port ${input.port} is already allocated in another repository: ${other}.`,
        `Run \`ports next ${input.service}\` for a free one, or \`ports which ${input.port}\` to see the holder.`,
      );
    }
    if (!(await isFree(input.port))) {
      throw new ConflictError(
        `Port ${input.port} is in use by another process on this machine.`,
        `Run \`ports which ${input.port}\` to see who holds it, or omit --port to get the lowest free port.`,
      );
    }
    port = input.port;
  } else {
    port = (await pickPort(registry, input.service, isFree, input.elsewhere)).port;
  }
  const allocation = newAllocation(input, port);
  registry.allocations.push(allocation);
  return { allocation, created: true };
}

/** Removes the allocations matching `predicate`; returns them. */
export function removeAllocations(registry: Registry, predicate: (a: Allocation) => boolean): Allocation[] {
  const removed: Allocation[] = [];
  registry.allocations = registry.allocations.filter((a) => {
    if (predicate(a)) {
      removed.push(a);
      return false;
    }
    return true;
  });
  return removed;
}

/** Merges config ranges into the registry: adds missing ones; with `replace`, updates changed ones. */
export function mergeRanges(
  registry: Registry,
  ranges: Record<string, { start: number; end: number; description: string }>,
  replace: boolean,
): { added: string[]; updated: string[] } {
  const added: string[] = [];
  const updated: string[] = [];
  for (const [name, range] of Object.entries(ranges)) {
    const current = Object.prototype.hasOwnProperty.call(registry.ranges, name) ? registry.ranges[name] : undefined;
    if (!current) {
      registry.ranges[name] = { start: range.start, end: range.end, description: range.description };
      added.push(name);
    } else if (replace && (current.start !== range.start || current.end !== range.end)) {
      current.start = range.start;
      current.end = range.end;
      if (range.description) current.description = range.description;
      updated.push(name);
    }
  }
  return { added, updated };
}
