/**
 * Health levels to one status: 1) the bind test says whether anything holds the port,
 * 2) the listener table says who, 3) the probe says whether it answers. `healthy` answers;
 * `unhealthy` listens but answers badly or not at all; `not_running` nothing listens. Pure.
 */
import type { HealthStatus } from './registry-schema';

export interface ListenerFact {
  address: string;
  family: 4 | 6;
  pid: number | null;
  command: string | null;
}

export interface ProbeFact {
  ok: boolean;
  answered: boolean;
  detail: string;
  /** The host that accepted the connection; null when none did. */
  host: string | null;
  latencyMs: number;
}

export interface HealthFacts {
  port: number;
  /** Level 1: the port could be bound (nobody holds it); null when not tested. */
  bindFree: boolean | null;
  /** Level 2: listeners on the port. */
  listeners: readonly ListenerFact[];
  /** Level 3: null when the service's health type is `none` (bind test and listener only). */
  probe: ProbeFact | null;
  /** The hosts the probe tried, for the message when none answered. */
  probedHosts: readonly string[];
  /** Who holds the port when that is not the worktree's own process or container (see foreignHolder); such a port is never healthy. */
  foreignHolder?: string | null;
}

export interface HealthVerdict {
  status: Exclude<HealthStatus, 'unknown'>;
  /** PID of the listener that answered (or of any listener); null when hidden or none. */
  pid: number | null;
  command: string | null;
  /** The highest level that decided the status. */
  level: 1 | 2 | 3;
  detail: string;
}

const WILDCARD: Record<4 | 6, string> = { 4: '0.0.0.0', 6: '::' };

/** The listener the probe reached: same address, else the wildcard of that family, else any with a PID. */
export function pickListener(listeners: readonly ListenerFact[], host: string | null): ListenerFact | null {
  if (listeners.length === 0) return null;
  if (host !== null) {
    const family: 4 | 6 = host.includes(':') ? 6 : 4;
    const exact = listeners.find((l) => l.address === host);
    if (exact) return exact;
    const wildcard = listeners.find((l) => l.address === WILDCARD[family]) ?? listeners.find((l) => l.address === '::');
    if (wildcard) return wildcard;
  }
  return listeners.find((l) => l.pid !== null) ?? listeners[0] ?? null;
}

function isLoopbackOrWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '::1' || address.startsWith('127.') || address === '::ffff:127.0.0.1';
}

export function judgeHealth(facts: HealthFacts): HealthVerdict {
  const { probe, listeners } = facts;
  const connected = probe !== null && (probe.host !== null || probe.answered);
  const listening = facts.bindFree === false || listeners.length > 0 || connected;
  if (!listening) {
    return {
      status: 'not_running',
      pid: null,
      command: null,
      level: facts.bindFree === null ? 3 : 1,
      detail: `nothing listens on ${facts.port}`,
    };
  }
  if (facts.foreignHolder) {
    // Whatever answers is not this worktree's service: its PID is not the worktree's either.
    return { status: 'unhealthy', pid: null, command: null, level: 2, detail: `held by ${facts.foreignHolder}, not by this worktree` };
  }
  const owner = pickListener(listeners, probe?.host ?? null);
  const pid = owner?.pid ?? null;
  const command = owner?.command ?? null;
  if (probe === null) {
    return { status: 'healthy', pid, command, level: listeners.length > 0 ? 2 : 1, detail: 'listening (no response check configured)' };
  }
  if (probe.ok) return { status: 'healthy', pid, command, level: 3, detail: probe.detail };
  let detail = probe.detail;
  const elsewhere = listeners.filter((l) => !isLoopbackOrWildcard(l.address));
  if (probe.host === null && elsewhere.length > 0 && elsewhere.length === listeners.length) {
    // Bound to one interface only: the probe on loopback cannot reach it.
    detail = `listening on ${elsewhere.map((l) => l.address).join(', ')} only, not on ${facts.probedHosts.join(' or ')}; set the service's health.host`;
  } else if (probe.host === null && owner !== null) {
    detail = `${probe.detail} (but ${owner.pid !== null ? `PID ${owner.pid}` : 'a process'} listens on ${owner.address})`;
  }
  return { status: 'unhealthy', pid, command, level: 3, detail };
}

export interface OwnershipFacts {
  /** The allocation's worktree folder; null (allocated by name): not judged. */
  worktreePath: string | null;
  /** The repository's worktree folders: a cwd in a nested worktree belongs to that one. */
  knownWorktrees: readonly string[];
  /** The worktree's Compose project (its COMPOSE_PROJECT_NAME). */
  composeProject: string | null;
  listeners: ReadonlyArray<{ pid: number | null; command: string | null; cwd?: string | null }>;
  /** Containers publishing the port; null when Docker could not be asked. */
  containers: ReadonlyArray<{ containerName: string; composeProject: string | null }> | null;
  sep?: string;
}

/** The worktree whose folder holds `dir` (the deepest, for worktrees nested in the main one). */
export function worktreeOf(dir: string, roots: readonly string[], sep: string): string | null {
  let best: string | null = null;
  for (const root of roots) {
    const inside = dir === root || dir.startsWith(root.endsWith(sep) ? root : root + sep);
    if (inside && (best === null || root.length > best.length)) best = root;
  }
  return best;
}

/**
 * Who holds a worktree's port when it is not the worktree: a container of another Compose
 * project (a published port's listener is Docker's proxy, so containers decide first), or a
 * process working in another worktree of the repository. null: the worktree's own, or nothing
 * to judge by (allocated by name, PID or folder hidden, a folder outside every worktree).
 */
export function foreignHolder(facts: OwnershipFacts): string | null {
  if (!facts.worktreePath) return null;
  const sep = facts.sep ?? '/';
  if (facts.containers && facts.containers.length > 0) {
    const foreign = facts.containers.find((c) => !facts.composeProject || c.composeProject !== facts.composeProject);
    if (!foreign) return null;
    return `container ${foreign.containerName}${foreign.composeProject ? ` of the Compose project ${foreign.composeProject}` : ''}`;
  }
  const roots = facts.knownWorktrees.includes(facts.worktreePath) ? facts.knownWorktrees : [...facts.knownWorktrees, facts.worktreePath];
  for (const l of facts.listeners) {
    if (l.pid === null || !l.cwd) continue;
    const worktree = worktreeOf(l.cwd, roots, sep);
    if (worktree !== null && worktree !== facts.worktreePath) return `PID ${l.pid} (${l.command ?? '?'}) of the worktree at ${worktree}`;
  }
  return null;
}
