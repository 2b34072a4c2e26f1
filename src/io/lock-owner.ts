/**
 * Who holds a lock, and whether that owner is gone: the record written into a lock file (PID,
 * process start time, boot id, PID namespace, host) and the verdict on it. Same host: the
 * owner's liveness decides, exactly and at once. Another host: only the lock's age can.
 */
import * as os from 'node:os';
import { bootId, findInPidNamespace, INIT_PID_NAMESPACE, namespacePids, pidNamespace, processLiveness, processStartTime } from './process-info';

export interface OwnerRecord {
  pid: number;
  host: string;
  start_time: string | null;
  boot_id: string | null;
  /** The owner's PID namespace: on the same machine (boot id) another one is searched in /proc. */
  pid_ns: string | null;
  /** NSpid of the owner as its own /proc showed it; its first entry is the machine-wide PID when that /proc was the machine's. */
  ns_pids?: number[] | null;
  token: string;
  acquired_at: string;
}

export interface Verdict {
  stale: boolean;
  reason: string;
}

export function parseRecord(content: string): OwnerRecord | null {
  try {
    const value = JSON.parse(content) as Partial<OwnerRecord> | null;
    if (!value || !Number.isInteger(value.pid) || typeof value.host !== 'string' || typeof value.token !== 'string') return null;
    return {
      pid: value.pid as number,
      host: value.host,
      start_time: typeof value.start_time === 'string' ? value.start_time : null,
      boot_id: typeof value.boot_id === 'string' ? value.boot_id : null,
      pid_ns: typeof value.pid_ns === 'string' ? value.pid_ns : null,
      ns_pids: Array.isArray(value.ns_pids) && value.ns_pids.every((p) => Number.isInteger(p)) ? value.ns_pids : null,
      token: value.token,
      acquired_at: typeof value.acquired_at === 'string' ? value.acquired_at : '',
    };
  } catch {
    return null;
  }
}

/**
 * Same host (and PID namespace): the owner's liveness decides, at once and exactly. Another
 * host: only age can, so only after staleMs.
 */
export function judge(instance: { record: OwnerRecord | null; mtimeMs: number }, staleMs: number, writeGraceMs: number): Verdict {
  const owner = instance.record;
  const now = Date.now();
  if (!owner) {
    if (now - instance.mtimeMs < writeGraceMs) return { stale: false, reason: 'being written' };
    return { stale: true, reason: 'its content is not a lock record' };
  }
  const self = selfIdentity();
  const acquiredAt = Date.parse(owner.acquired_at);
  if (owner.host === self.host && owner.boot_id && self.boot_id && owner.boot_id !== self.boot_id) {
    // A different boot id with a time after our boot is another machine with the same hostname.
    if (!(acquiredAt >= self.bootedAt)) return { stale: true, reason: 'it was taken before the machine rebooted' };
  } else if (owner.host === self.host && (!owner.pid_ns || !self.pid_ns || owner.pid_ns === self.pid_ns)) {
    if (processLiveness(owner.pid, owner.start_time) === 'alive') return { stale: false, reason: `process ${owner.pid} is running` };
    return { stale: true, reason: deadOwnerReason(owner) };
  } else if (owner.boot_id && owner.boot_id === self.boot_id && owner.pid_ns && self.pid_ns && owner.pid_ns !== self.pid_ns) {
    // Same kernel, other PID namespace (a container or sandbox on this machine): find the owner in /proc.
    const verdict = judgeInOtherNamespace(owner, owner.pid_ns, self.pid_ns);
    if (verdict) return verdict;
  }
  const ageMs = now - Math.max(Number.isNaN(acquiredAt) ? 0 : acquiredAt, instance.mtimeMs);
  if (ageMs > staleMs) {
    return { stale: true, reason: `taken on ${owner.host} ${Math.round(ageMs / 1000)} s ago, longer than ${staleMs} ms, and its process cannot be checked from here` };
  }
  return { stale: false, reason: `taken on ${owner.host}, whose process cannot be checked from here, ${Math.round(ageMs / 1000)} s ago` };
}

function judgeInOtherNamespace(owner: OwnerRecord, ownerNs: string, selfNs: string): Verdict | null {
  const found = findInPidNamespace(ownerNs, owner.pid, owner.ns_pids?.[0]);
  if (found.pid !== null) {
    if (processLiveness(found.pid, owner.start_time) === 'alive') return { stale: false, reason: `process ${owner.pid} of PID namespace ${ownerNs} (${found.pid} here) is running` };
    return { stale: true, reason: `process ${owner.pid} of PID namespace ${ownerNs} (${found.pid} here) has exited` };
  }
  // Not found: gone for sure only where every process of the machine is visible (or its namespace is).
  if (found.namespaceSeen || selfNs === INIT_PID_NAMESPACE) return { stale: true, reason: `process ${owner.pid} of PID namespace ${ownerNs} (a container or sandbox of this machine) is not running` };
  return null;
}

function deadOwnerReason(owner: OwnerRecord): string {
  const startTime = processStartTime(owner.pid);
  if (startTime === null) return `process ${owner.pid} is not running`;
  if (owner.start_time && startTime !== owner.start_time) return `PID ${owner.pid} now belongs to another process`;
  return `process ${owner.pid} has exited (zombie)`;
}

export function describeHolder(instance: { record: OwnerRecord | null }): string {
  const owner = instance.record;
  if (!owner) return 'an unreadable lock file';
  const self = owner.pid === process.pid && owner.host === selfIdentity().host ? ', this process' : '';
  return `pid ${owner.pid} on ${owner.host}${self}, since ${owner.acquired_at}`;
}

let identity: { host: string; start_time: string | null; boot_id: string | null; pid_ns: string | null; ns_pids: number[] | null; bootedAt: number } | undefined;

export function selfIdentity(): NonNullable<typeof identity> {
  if (!identity || identity.host !== os.hostname()) {
    identity = {
      host: os.hostname(),
      start_time: processStartTime(process.pid),
      boot_id: bootId(),
      pid_ns: pidNamespace(),
      ns_pids: namespacePids(),
      bootedAt: Date.now() - os.uptime() * 1000,
    };
  }
  return identity;
}

export function ownerRecord(): OwnerRecord {
  const { host, start_time, boot_id, pid_ns, ns_pids } = selfIdentity();
  return { pid: process.pid, host, start_time, boot_id, pid_ns, ns_pids, token: uniqueToken(), acquired_at: new Date().toISOString() };
}

let tokens = 0;

/**
 * Names one lock instance for good, in 32 hex digits: 96 bits from Math.random (which Node seeds
 * per process from the OS's entropy), then the PID and a counter. An identity, not a secret, so
 * node:crypto (~2 ms to load and start) is not needed for it.
 */
function uniqueToken(): string {
  const random = (): string => Math.floor(Math.random() * 2 ** 48).toString(16).padStart(12, '0');
  const local = (((process.pid & 0xffffff) << 8) | (++tokens & 0xff)) >>> 0;
  return `${random()}${random()}${local.toString(16).padStart(8, '0')}`;
}
