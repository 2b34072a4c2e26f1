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
