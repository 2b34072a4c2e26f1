/**
 * Is a process alive, and is it still the same process? Used by the lock (to recover the lock of
 * a killed process at once) and by the listener lookup. A zombie is dead; a PID that was reused
 * by a newer process is told apart by its start time (Linux: /proc/PID/stat field 22).
 */
import * as fs from 'node:fs';

interface ProcStat {
  state: string;
  startTime: string;
}

function readProcStat(pid: number): ProcStat | null {
  let raw: string;
  try {
    raw = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', startTime: fields[19] ?? '' };
}

const hasProc = process.platform === 'linux' && fs.existsSync('/proc/self/stat');

/** The one-letter state of /proc/PID/stat (`R`, `S`, `T` stopped, `Z` zombie, …); null where it cannot be read. */
export function processState(pid: number): string | null {
  if (!hasProc) return null;
  return readProcStat(pid)?.state ?? null;
}

/** A token that differs between two processes that had the same PID; null where it cannot be read. */
export function processStartTime(pid: number): string | null {
  if (!hasProc) return null;
  return readProcStat(pid)?.startTime ?? null;
}

let cachedBootId: string | null | undefined;
/** Changes on every boot, so a lock written before a reboot is recognisably stale. */
export function bootId(): string | null {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId;
}

export type Liveness = 'alive' | 'dead';

/**
 * `dead` when no such process exists, it is a zombie, or its start time differs from the one
 * recorded (the PID was reused). A process of another user that we may not signal is alive.
 */
export function processLiveness(pid: number, recordedStartTime?: string | null): Liveness {
  if (!Number.isInteger(pid) || pid <= 0) return 'dead';
  if (hasProc) {
    const stat = readProcStat(pid);
    if (!stat) return 'dead';
    if (stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') return 'dead';
    if (recordedStartTime && stat.startTime && recordedStartTime !== stat.startTime) return 'dead';
    return 'alive';
  }
  try {
    process.kill(pid, 0);
    return 'alive';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'dead';
  }
}

/** The PID namespace of the init process: a process there sees every process of the machine. */
export const INIT_PID_NAMESPACE = 'pid:[4026531836]';

export function pidNamespace(pid: number | 'self' = 'self'): string | null {
  if (!hasProc) return null;
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

/** `NSpid` of /proc/PID/status: the process's PID in each nested namespace, as seen from this /proc outward-in. */
export function namespacePids(pid: number | 'self' = 'self'): number[] | null {
  if (!hasProc) return null;
  try {
    const line = /^NSpid:\s*(.+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return line ? line.trim().split(/\s+/).map(Number) : null;
  } catch {
    return null;
  }
}

/**
 * A process of another PID namespace (a container, a sandbox) as this one sees it: scans
 * /proc for the process whose namespace is `namespace` and whose innermost PID is `innerPid`.
 * `namespaceSeen` tells whether any process of that namespace is visible from here.
 */
export function findInPidNamespace(namespace: string, innerPid: number, hint?: number): { pid: number | null; namespaceSeen: boolean } {
  if (!hasProc) return { pid: null, namespaceSeen: false };
  const matches = (pid: number) => pidNamespace(pid) === namespace && namespacePids(pid)?.at(-1) === innerPid;
  if (hint !== undefined && hint > 0 && matches(hint)) return { pid: hint, namespaceSeen: true };
  let namespaceSeen = false;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pidNamespace(pid) !== namespace) continue;
    namespaceSeen = true;
    if (namespacePids(pid)?.at(-1) === innerPid) return { pid, namespaceSeen };
  }
  return { pid: null, namespaceSeen };
}
