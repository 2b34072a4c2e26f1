/**
 * Allocate a set of services for one owner in one locked update: reconcile first, add config
 * ranges the registry lacks, allocate (idempotently), then bring the worktree's .env in line.
 * Used by `ports allocate`, the post-checkout hook, `ports exec` and `ports env`.
 *
 * Ports are a resource of the machine: a run that adds an allocation holds the machine lock
 * (taken before the registry lock) from reading every other registry of the machine index until
 * its own registry is committed. A run that adds nothing (the hook's common case) never takes it.
 * The .env is written only once the registry is on disk: a crash or a full disk in between leaves
 * an .env that names no unrecorded port, and the next run writes it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import { allocateInRegistry, firstUnallocated, mergeRanges, ownsAllocation, rangeOf, takenPorts, type AllocationOutcome, type HeldElsewhere, type Owner } from '../core/allocation';
import type { Allocation, Registry } from '../core/registry-schema';
import type { ServiceConfig } from '../config/schema';
import type { LockHandle } from '../io/lock';
import type { RegistryStore } from '../io/registry-store';
import { describeOwner, resolveOwner } from './owner';
import { checkPortAvailable, warmUpBindTest } from '../io/port-probe';
import { currentUser } from '../io/registry-store';
import { envVarsFor, projectNameFor, syncWorktreeEnv, trackedEnvFile } from './env-sync';
import { EnvFileRefusedError, planWorktreeEnv } from '../io/env-file';
import { PortsError, RangeExhaustedError, UnknownServiceError } from '../errors';
import { keepEnvFileOutOfGit, keepOutOfGit } from './ignore';
import { indexEntryFor, joinMachine, refreshEntry, repoOfWorktree, takeMachineLock, tryTakeMachineLock } from './machine';
import { recoverFromEnv } from './rebuild';
import { applyReconcile, type SnapshotSource } from './reconcile';
import { readRegistryText, readRegularFile, type IndexedRegistry, type RegistryRecord } from '../io/machine-index';

export interface EnsureRequest {
  owner: Owner;
  services: { name: string; description?: string }[];
  port?: number;
  /** A snapshot the caller took (outside the lock); default: taken only when needed. */
  snapshot?: SnapshotSource;
}

export interface EnsureResult {
  outcomes: AllocationOutcome[];
  /** Every allocation the owner holds after the update. */
  held: Allocation[];
  envFile: string | null;
}

/** How this run stands with the machine lock: not needed (opted out or unusable), held, or not (yet). */
interface MachineState {
  entry: IndexedRegistry | null;
  lock: LockHandle | null;
}

/** What an update could not do for one service or for the env file; reported once the ports are saved. */
interface Deferred {
  services: PortsError[];
  env: EnvFileRefusedError | null;
}

const NEEDS_MACHINE_LOCK = Symbol('needs the machine lock');

export async function ensureAllocations(ctx: Context, request: EnsureRequest): Promise<EnsureResult> {
  const store = await ctx.store();
  const config = await ctx.config();
  const entry = await indexEntryFor(ctx, store.file);
  const machine: MachineState = { entry: config.machine ? entry : null, lock: null };
  let created = false;
  try {
    const adding = mayAdd(store.file, request);
    // A run that adds probes ports under the locks: its first bind test, the dearest, comes before them.
    if (adding) await warmUpBindTest();
    if (machine.entry && adding) {
      const lock = await takeMachineLock(ctx);
      if (lock === 'unavailable') machine.entry = null;
      else machine.lock = lock;
    }
    const deferred: Deferred = { services: [], env: null };
    let result = await updateOnce(ctx, store, request, machine, deferred, () => (created = true));
    if (result === NEEDS_MACHINE_LOCK) {
      // Another allocation holds the machine lock. Wait for it with no registry lock held (one
      // order, machine then registry: no deadlock), then do the update again.
      const lock = await takeMachineLock(ctx);
      if (lock === 'unavailable') machine.entry = null;
      else machine.lock = lock;
      deferred.services = [];
      result = await updateOnce(ctx, store, request, machine, deferred, () => (created = true));
    }
    if (result === NEEDS_MACHINE_LOCK) throw new Error('the machine lock was held and still asked for');
    // Not when the state folder was found unusable above (it was said once).
    if (!machine.lock && (machine.entry || !config.machine)) refreshEntry(ctx, entry, config.machine);
    if (created) {
      await keepOutOfGit(ctx, store.file);
      await keepEnvFileOutOfGit(ctx, config.envFile);
    }
    // One unknown service or one full range must not cost the other services their ports; an env
    // file the tool must not write leaves the ports allocated (`ports exec` still has them).
    for (const failure of deferred.services.slice(1)) ctx.out.warn(`${failure.message}${failure.hint ? ` ${failure.hint}` : ''}`);
    if (deferred.services[0]) throw deferred.services[0];
    if (deferred.env) throw deferred.env;
    return result;
  } finally {
    machine.lock?.release();
  }
}

/**
 * Whether this run may add an allocation, judged before any lock from the registry as it is
 * now: when the owner's name is not even in the file, certainly; else by a lenient parse. A run
 * that may add waits for the machine lock first, so the waiters queue there rather than each
 * taking the registry lock in turn only to find they must come back (the update itself still
 * checks, under the registry lock, and comes back for the machine lock when it must).
 */
function mayAdd(registryFile: string, request: EnsureRequest): boolean {
  let text: string | null;
  try {
    // Non-blocking and regular files only: a named pipe in the registry's place must not hang
    // this look (the store then refuses it with a clear error).
    text = readRegularFile(registryFile);
  } catch {
    return true;
  }
  if (text === null) return true;
  const key = request.owner.worktreePath ?? request.owner.worktree;
  if (!text.includes(JSON.stringify(key).slice(1, -1))) return true;
  const records = readRegistryText(text);
  if (!records) return true;
  const mine = (r: RegistryRecord) =>
    request.owner.worktreePath ? r.worktree_path === request.owner.worktreePath : r.worktree === request.owner.worktree && r.worktree_path === undefined;
  return request.services.some((s) => !records.some((r) => r.service === s.name && mine(r)));
}

function missingServices(registry: Registry, request: EnsureRequest): boolean {
  return request.services.some((s) => !registry.allocations.some((a) => a.service === s.name && ownsAllocation(request.owner, a)));
}

async function updateOnce(
  ctx: Context,
  store: RegistryStore,
  request: EnsureRequest,
  machine: MachineState,
  deferred: Deferred,
  onCreated: () => void,
): Promise<EnsureResult | typeof NEEDS_MACHINE_LOCK> {
  const config = await ctx.config();
  const snapshot = request.snapshot ?? 'when-needed';
  const allocatedBy = currentUser();
  const repo = await repoOfWorktree(ctx);
  return store.update(
    async (registry, tx) => {
      if (tx.created) onCreated();
      await applyReconcile(registry, tx, snapshot, ctx);
      if (mergeRanges(registry, config.ranges, false).added.length) tx.changed();
      let elsewhere: HeldElsewhere | undefined;
      if (machine.entry && missingServices(registry, request)) {
        if (!machine.lock) {
          const lock = await tryTakeMachineLock(ctx);
          if (lock === null) return NEEDS_MACHINE_LOCK;
          if (lock === 'unavailable') machine.entry = null;
          else machine.lock = lock;
        }
        if (machine.entry) elsewhere = joinMachine(ctx, machine.entry);
      }
      const isFree = await probeFirstCandidates(registry, request, elsewhere);
      const outcomes: AllocationOutcome[] = [];
      for (const service of request.services) {
        let outcome: AllocationOutcome;
        try {
          outcome = await allocateInRegistry(
            registry,
            { owner: request.owner, service: service.name, description: service.description, port: request.port, allocatedBy, now: ctx.now().toISOString(), repo, elsewhere },
            isFree,
          );
        } catch (error) {
          if (!(error instanceof UnknownServiceError || error instanceof RangeExhaustedError)) throw error;
          deferred.services.push(error);
          continue;
        }
        if (outcome.created) tx.changed();
        outcomes.push(outcome);
      }
      const result: EnsureResult = { outcomes, held: registry.allocations.filter((a) => ownsAllocation(request.owner, a)), envFile: null };
      const root = request.owner.worktreePath;
      if (root && fs.existsSync(path.join(root, config.envFile)) && !trackedEnvFile(ctx, root, config.envFile)) {
        // A user's line that sets a managed variable refuses the whole update, before anything is
        // committed: the two values would disagree. A file of a kind ports never writes does not:
        // the ports are allocated and the refusal is reported once they are saved.
        try {
          const mine = registry.allocations.filter((a) => a.worktree_path === root);
          planWorktreeEnv(root, config.envFile, envVarsFor(mine, config, await projectNameFor(ctx, root)));
        } catch (error) {
          if (!(error instanceof EnvFileRefusedError)) throw error;
        }
      }
      // Only once the registry holds the ports may a file name them; still under the lock, so no release slips in between.
      tx.afterCommit(async () => {
        if (!root || !fs.existsSync(root)) return;
        try {
          const synced = await syncWorktreeEnv(ctx, registry, root);
          result.envFile = synced.tracked ? null : synced.file; // a tracked env file is left alone
        } catch (error) {
          if (!(error instanceof EnvFileRefusedError)) throw error;
          deferred.env = error;
        }
      });
      return result;
    },
    { create: true, recover: () => recoverFromEnv(ctx) },
  );
}

/**
 * The port each missing service will most likely get is probed for all services at once (a
 * bind test takes a few event-loop turns; four in a row were a visible part of a hook run).
 * Returns the probe to allocate with: answers from that round, else a fresh bind test.
 */
async function probeFirstCandidates(registry: Registry, request: EnsureRequest, elsewhere: HeldElsewhere | undefined): Promise<(port: number) => Promise<boolean>> {
  const known = new Map<number, boolean>();
  if (request.port === undefined) {
    const taken = takenPorts(registry, elsewhere);
    const firsts = new Set<number>();
    for (const service of request.services) {
      if (registry.allocations.some((a) => a.service === service.name && ownsAllocation(request.owner, a))) continue;
      if (!Object.prototype.hasOwnProperty.call(registry.ranges, service.name)) continue; // allocate reports it
      const first = firstUnallocated(rangeOf(registry, service.name), taken);
      if (first !== undefined) firsts.add(first);
    }
    await Promise.all([...firsts].map(async (port) => known.set(port, await checkPortAvailable(port))));
  }
  return async (port) => known.get(port) ?? checkPortAvailable(port);
}

export interface WorktreeHoldings {
  owner: Owner;
  /** The worktree's root. */
  root: string;
  /** The registry as read (no lock), null when there is none yet. */
  registry: Registry | null;
  held: Allocation[];
  /** Declared services the worktree holds no port for. */
  missing: ServiceConfig[];
}

/** What the current worktree holds and lacks, read without the lock. */
export async function worktreeHoldings(ctx: Context): Promise<WorktreeHoldings> {
  const config = await ctx.config();
  const store = await ctx.store();
  const owner = await resolveOwner(ctx, undefined, null);
  const registry = store.readIfExists();
  const held = registry ? registry.allocations.filter((a) => ownsAllocation(owner, a)) : [];
  const missing = config.services.filter((s) => !held.some((a) => a.service === s.name));
  return { owner, root: owner.worktreePath as string, registry, held, missing };
}

/**
 * The current worktree's allocations, allocating its declared services first when any is
 * missing (`ports exec`, `ports compose`, `ports env`). `allocated` tells whether it did, and so
 * whether the .env was written already.
 */
export async function ensureDeclaredServices(ctx: Context, options: { announce?: boolean } = {}): Promise<WorktreeHoldings & { allocated: boolean }> {
  const holdings = await worktreeHoldings(ctx);
  if (holdings.missing.length === 0) return { ...holdings, allocated: false };
  if (options.announce) ctx.out.info(`ports: allocating ${holdings.missing.map((s) => s.name).join(', ')} for ${describeOwner(holdings.owner)}`);
  const config = await ctx.config();
  const result = await ensureAllocations(ctx, { owner: holdings.owner, services: config.services.map((s) => ({ name: s.name, description: s.description })) });
  return { ...holdings, held: result.held, missing: [], allocated: true };
}
