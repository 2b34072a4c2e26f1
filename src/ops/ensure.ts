/**
 * Allocate a set of services for one owner in one locked update: reconcile first, add config
 * ranges the registry lacks, allocate (idempotently), then bring the worktree's .env in line.
 * Used by `ports allocate`, the post-checkout hook, `ports exec` and `ports env`.
 */
import * as fs from 'node:fs';
import type { Context } from '../context';
import { allocateInRegistry, firstUnallocated, mergeRanges, ownsAllocation, rangeOf, takenPorts, type AllocationOutcome, type Owner } from '../core/allocation';
import type { Allocation, Registry } from '../core/registry-schema';
import type { ServiceConfig } from '../config/schema';
import { describeOwner, resolveOwner } from './owner';
import { checkPortAvailable } from '../io/port-probe';
import { currentUser } from '../io/registry-store';
import { repoName, syncWorktreeEnv } from './env-sync';
import { registerRegistry } from '../io/machine-index';
import { EnvFileRefusedError } from '../io/env-file';
import { PortsError, RangeExhaustedError, UnknownServiceError } from '../errors';
import { keepEnvFileOutOfGit, keepOutOfGit } from './ignore';
import { recoverFromEnv } from './rebuild';
import { applyReconcile, type SnapshotSource } from './reconcile';

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

export async function ensureAllocations(ctx: Context, request: EnsureRequest): Promise<EnsureResult> {
  const store = await ctx.store();
  const config = await ctx.config();
  const snapshot = request.snapshot ?? 'when-needed';
  const allocatedBy = currentUser();
  let created = false;
  let envRefused: EnvFileRefusedError | null = null;
  const serviceFailures: PortsError[] = [];
  const result = await store.update(
    async (registry, tx) => {
      created = tx.created;
      await applyReconcile(registry, tx, snapshot, ctx);
      if (mergeRanges(registry, config.ranges, false).added.length) tx.changed();
      const isFree = await probeFirstCandidates(registry, request);
      const outcomes: AllocationOutcome[] = [];
      for (const service of request.services) {
        let outcome: AllocationOutcome;
        try {
          outcome = await allocateInRegistry(
            registry,
            { owner: request.owner, service: service.name, description: service.description, port: request.port, allocatedBy, now: ctx.now().toISOString() },
            isFree,
          );
        } catch (error) {
          // One unknown service or one full range must not cost the other services their ports.
          if (!(error instanceof UnknownServiceError || error instanceof RangeExhaustedError)) throw error;
          serviceFailures.push(error);
          continue;
        }
        if (outcome.created) tx.changed();
        outcomes.push(outcome);
      }
      let envFile: string | null = null;
      const root = request.owner.worktreePath;
      try {
        if (root && fs.existsSync(root)) {
          const synced = await syncWorktreeEnv(ctx, registry, root);
          envFile = synced.tracked ? null : synced.file; // a tracked env file is left alone
        }
      } catch (error) {
        // The ports are allocated all the same; the refusal is reported once they are saved.
        if (!(error instanceof EnvFileRefusedError)) throw error;
        envRefused = error;
      }
      return { outcomes, held: registry.allocations.filter((a) => ownsAllocation(request.owner, a)), envFile };
    },
    { create: true, recover: () => recoverFromEnv(ctx) },
  );
  await indexRegistry(ctx, store.file);
  if (created) {
    await keepOutOfGit(ctx, store.file);
    await keepEnvFileOutOfGit(ctx, config.envFile);
  }
  for (const failure of serviceFailures.slice(1)) ctx.out.warn(`${failure.message}${failure.hint ? ` ${failure.hint}` : ''}`);
  if (serviceFailures[0]) throw serviceFailures[0];
  if (envRefused) throw envRefused;
  return result;
}

/** Records the registry in the per-user machine index, so other repositories see its ports. */
async function indexRegistry(ctx: Context, file: string): Promise<void> {
  try {
    const repo = await ctx.repo();
    registerRegistry(ctx.env, { registry: file, repo: repo.mainRoot ?? repo.commonDir, name: repoName(repo) });
  } catch (error) {
    ctx.out.warn(`could not record ${file} in the machine index: ${(error as Error).message}`);
  }
}

/**
 * The port each missing service will most likely get is probed for all services at once (a
 * bind test takes a few event-loop turns; four in a row were a visible part of a hook run).
 * Returns the probe to allocate with: answers from that round, else a fresh bind test.
 */
async function probeFirstCandidates(registry: Registry, request: EnsureRequest): Promise<(port: number) => Promise<boolean>> {
  const known = new Map<number, boolean>();
  if (request.port === undefined) {
    const taken = takenPorts(registry);
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
