/**
 * What `ports doctor` looks at and what it says: the finding kinds and the facts the rules in
 * diagnosis.ts read (gathered by commands/doctor.ts).
 */
import type { Conflict } from './conflicts';
import type { Registry } from './registry-schema';

export const FINDING_KINDS = [
  'registry_corrupt',
  'registry_unreadable',
  'registry_missing',
  'registry_lost',
  'registry_tracked',
  'env_file_tracked',
  'stale_lock',
  'lock_held',
  'lock_unusable',
  'temp_files',
  'hooks_missing',
  'hooks_broken',
  'registry_conflict',
  'metadata_out_of_step',
  'vanished_worktree',
  'env_out_of_step',
  'overridden_variable',
  'services_unallocated',
  'port_in_use',
  'busy_unallocated',
  'outside_range',
  'unknown_service',
  'overlapping_ranges',
  'range_exhausted',
  'range_nearly_full',
  'loopback_only',
  'health_stale',
  'not_started',
  'container_name',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface Finding {
  kind: FindingKind;
  /** One line: what is wrong. */
  title: string;
  /** Why, with the ports, worktrees, processes involved. */
  detail: string;
  /** What to run or do. */
  action: string;
  /** The tool's own state: decides the exit code. */
  counts: boolean;
  /** `ports doctor --fix` repairs it. */
  fixable: boolean;
  ports: number[];
}

export interface ListenerInfo {
  port: number;
  address: string;
  pid: number | null;
  command: string | null;
  cwd: string | null;
}

export type RegistryState =
  | { kind: 'ok'; registry: Registry }
  | { kind: 'missing' }
  | { kind: 'corrupt'; message: string }
  | { kind: 'unreadable'; message: string };

export interface LockFact {
  /** `unusable`: something that is not a lock file (a folder) is where the lock goes. */
  state: 'free' | 'held' | 'stale' | 'unusable';
  reason?: string;
  holder?: { pid: number; host: string; acquired_at?: string };
}

export interface HookFact {
  file: string;
  /** Our block is in the hook. */
  installed: boolean;
  /** The hook file can be executed by git. */
  executable: boolean;
  /** None of the tool paths the block names exists any more. */
  toolMissing: boolean;
}

export interface DiagnosisFacts {
  registryFile: string;
  registry: RegistryState;
  lock: LockFact;
  /** Temp and breaker files of dead processes next to the registry. */
  staleTempFiles: string[];
  /** null outside a repository (registry given with --registry). */
  hook: HookFact | null;
  /** Live worktrees whose managed .env block names ports (looked at only when the registry is missing). */
  envBlocksWithPorts: number;
  /** Live worktrees without a port for some declared service (made with --no-checkout, before the hook, or lost their .env). */
  unallocated: readonly { worktree: string; path: string; services: string[] }[];
  /** Services declared in config: without any, a missing hook is harmless. */
  servicesDeclared: number;
  /** The registry is tracked by git (path relative to the main worktree), or null. */
  trackedAs: string | null;
  /** The current worktree's env file is tracked by git (so ports leaves it alone), or null. */
  envTrackedAs?: string | null;
  /** From core/conflicts (ports check); empty when the registry cannot be read. */
  conflicts: readonly Conflict[];
  /** Every TCP listener on the machine (or on the ports of the ranges). */
  listeners: readonly ListenerInfo[];
  /** Docker answers on this machine. */
  docker: boolean;
  now: Date;
}
