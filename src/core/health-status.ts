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
