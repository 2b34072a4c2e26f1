/**
 * `ports doctor [--fix]`: diagnose what can go wrong (core/diagnosis) and say what to do;
 * with --fix, repair what is safe — stale lock and temp files, a corrupt registry (backed up, rebuilt from
 * the worktrees' .env blocks), vanished worktrees, duplicate entries (the older one stays),
 * metadata, .env blocks, the git hook — then diagnose again. Exit 0 when nothing that is the
 * tool's own state is wrong (services merely not started do not count), 4 otherwise.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import { allocateInRegistry, ownsAllocation, type Owner } from '../core/allocation';
import { diagnose, doctorExitCode, type DiagnosisFacts, type Finding, type HookFact, type LockFact, type RegistryState } from '../core/diagnosis';
import { hasHookBlock } from '../core/hook-script';
import type { Allocation, Registry } from '../core/registry-schema';
import { ExitCode, PortsError, RegistryCorruptError, RegistryError } from '../errors';
import { runGit } from '../io/git';
import { findListeners } from '../io/listeners';
import { checkPortAvailable } from '../io/port-probe';
import { currentUser, type RegistryStore } from '../io/registry-store';
import { removeStaleEnvTempFiles } from '../io/env-file';
import { syncWorktreeEnv, trackedEnvFile } from '../ops/env-sync';
import { ensureAllocations } from '../ops/ensure';
import { hookFindsTool, locateHook } from '../ops/hooks-location';
import { keepOutOfGit } from '../ops/ignore';
import { readWorktreeBlocks, rebuildRegistry } from '../ops/rebuild';
import { applyReconcile, snapshotForReconcile } from '../ops/reconcile';
import { compareText } from '../core/compare';

export interface DoctorOptions {
  fix: boolean;
}

interface Gathered {
  facts: DiagnosisFacts;
  /** The corrupt file's bytes as diagnosed, so the rebuild replaces exactly that. */
  corruptBytes: Buffer | null;
}

function readRegistryState(store: RegistryStore): { state: RegistryState; corruptBytes: Buffer | null } {
  try {
    const registry = store.readIfExists();
    return { state: registry ? { kind: 'ok', registry } : { kind: 'missing' }, corruptBytes: null };
  } catch (error) {
    if (error instanceof RegistryCorruptError) return { state: { kind: 'corrupt', message: error.message }, corruptBytes: store.readBytes() };
    if (error instanceof RegistryError) return { state: { kind: 'unreadable', message: `${error.message}${error.hint ? ` ${error.hint}` : ''}` }, corruptBytes: null };
    throw error;
  }
}

function readLock(store: RegistryStore): LockFact {
  try {
    const inspection = store.inspectLock();
    return { state: inspection.state, reason: inspection.reason, holder: inspection.holder };
  } catch {
    return { state: 'free' };
  }
}

/** Tool paths named in the hook block (`for ports_candidate in '…' '…'; do`). */
function hookCandidates(script: string): string[] {
  const line = /for ports_candidate in (.*); do/.exec(script)?.[1] ?? '';
  return [...line.matchAll(/'((?:[^']|'\\'')*)'/g)].map((m) => (m[1] as string).replace(/'\\''/g, "'"));
}

async function readHook(ctx: Context): Promise<HookFact | null> {
  let location;
  try {
    location = await locateHook(ctx);
  } catch {
    return null; // not in a repository: --registry used directly
  }
  let script: string | null = null;
  try {
    script = fs.readFileSync(location.file, 'utf8');
  } catch {
    // no hook file
  }
  const installed = script !== null && hasHookBlock(script);
  // husky sources its hooks from its own stub, so only a plain git hook must be executable.
  const executable = location.kind === 'husky' || (installed && (fs.statSync(location.file).mode & 0o111) !== 0);
  // A block written by an older version names its tool paths; the current one looks them up.
  const candidates = installed ? hookCandidates(script as string) : [];
  const toolMissing = installed && (candidates.length > 0 ? !candidates.some((c) => fs.existsSync(c)) : !hookFindsTool((await ctx.repo()).mainRoot, ctx.env));
  return { file: location.file, installed, executable, toolMissing };
}

async function trackedEnvOfWorktree(ctx: Context): Promise<string | null> {
  // With --registry outside any repository there is no worktree and so no env file.
  const root = (await ctx.repo().catch(() => null))?.worktreeRoot;
  return root ? trackedEnvFile(ctx, root, (await ctx.config()).envFile) : null;
}

async function trackedPath(ctx: Context, file: string): Promise<string | null> {
  try {
    const repo = await ctx.repo();
    if (!repo.mainRoot) return null;
    const relative = path.relative(repo.mainRoot, file);
    if (relative.startsWith('..') || path.isAbsolute(relative)) return null;
    const posix = relative.split(path.sep).join('/');
    return runGit(['ls-files', '--error-unmatch', '--', posix], repo.mainRoot, ctx.env).status === 0 ? posix : null;
  } catch {
    return null;
  }
}

async function countEnvBlocks(ctx: Context): Promise<number> {
  try {
    return (await readWorktreeBlocks(ctx)).worktrees.length;
  } catch {
    return 0; // not in a repository
  }
}

/** git's admin id of a linked worktree, from its `.git` file (`gitdir: …/worktrees/<id>`). */
function worktreeIdOf(root: string): string | null {
  try {
    const gitdir = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(path.join(root, '.git'), 'utf8'))?.[1]?.trim();
    return gitdir && path.basename(path.dirname(gitdir)) === 'worktrees' ? path.basename(gitdir) : null;
  } catch {
    return null; // the main worktree has a .git folder
  }
}

async function unallocatedWorktrees(ctx: Context, registry: Registry): Promise<DiagnosisFacts['unallocated']> {
  const config = await ctx.config();
  if (config.services.length === 0) return [];
  const snapshot = await snapshotForReconcile(ctx);
  const found: { worktree: string; path: string; services: string[] }[] = [];
  for (const w of snapshot?.worktrees ?? []) {
    if (w.bare || w.prunable || w.locked || !fs.existsSync(w.canonicalPath)) continue;
    const missing = config.services.filter((s) => !registry.allocations.some((a) => a.worktree_path === w.canonicalPath && a.service === s.name)).map((s) => s.name);
    if (missing.length) found.push({ worktree: path.basename(w.canonicalPath), path: w.canonicalPath, services: missing });
  }
  return found;
}

async function gather(ctx: Context, store: RegistryStore): Promise<Gathered> {
  const config = await ctx.config();
  const { state, corruptBytes } = readRegistryState(store);
  let conflicts: DiagnosisFacts['conflicts'] = [];
  let docker = false;
  if (state.kind === 'ok') {
    const { collectConflicts } = await import('../ops/conflicts');
    ({ conflicts, docker } = await collectConflicts(ctx));
  }
  const facts: DiagnosisFacts = {
    registryFile: store.file,
    registry: state,
    lock: readLock(store),
    staleTempFiles: store.leftovers(),
    envBlocksWithPorts: state.kind === 'missing' ? await countEnvBlocks(ctx) : 0,
    unallocated: state.kind === 'ok' ? await unallocatedWorktrees(ctx, state.registry) : [],
    hook: await readHook(ctx),
    servicesDeclared: config.services.length,
    trackedAs: await trackedPath(ctx, store.file),
    envTrackedAs: await trackedEnvOfWorktree(ctx),
    conflicts,
    listeners: state.kind === 'ok' ? await findListeners() : [],
    docker,
    now: ctx.now(),
  };
  return { facts, corruptBytes };
}

/** The older of two claims on one port, or of two ports for one (worktree, service), stays. */
function duplicateLosers(registry: Registry): Allocation[] {
  const byAge = registry.allocations.map((a, i) => ({ a, i })).sort((x, y) => compareText(x.a.allocated_at, y.a.allocated_at) || x.i - y.i);
  const ports = new Set<number>();
  const owners = new Set<string>();
  const losers: Allocation[] = [];
  for (const { a } of byAge) {
    const owner = `${a.worktree_path ?? `name:${a.worktree}`}\u0000${a.service}`;
    if (ports.has(a.port) || owners.has(owner)) losers.push(a);
    else {
      ports.add(a.port);
      owners.add(owner);
    }
  }
  return losers;
}

/** Temp files of killed env writes (they make `git worktree remove` refuse) in every worktree. */
async function removeEnvTempLeftovers(ctx: Context): Promise<string[]> {
  const config = await ctx.config();
  const snapshot = await snapshotForReconcile(ctx).catch(() => null);
  const removed = (snapshot?.worktrees ?? []).filter((w) => !w.bare && !w.prunable).flatMap((w) => removeStaleEnvTempFiles(w.canonicalPath, config.envFile));
  return removed.length ? [`removed ${removed.length} leftover env temp file${removed.length === 1 ? '' : 's'}: ${removed.join(', ')}`] : [];
}

/** What --fix did, and what it tried and could not do (these keep the exit code non-zero). */
interface FixOutcome {
  done: string[];
  failed: string[];
}

async function applyFixes(ctx: Context, store: RegistryStore, gathered: Gathered, findings: readonly Finding[]): Promise<FixOutcome> {
  const done: string[] = [];
  const failed: string[] = [];
  const has = (kind: Finding['kind']) => findings.some((f) => f.kind === kind && f.fixable);
  if (has('stale_lock') && store.removeStaleLock()) done.push(`removed the stale lock ${store.file}.lock`);
  if (has('temp_files')) {
    const removed = store.removeLeftovers();
    if (removed.length) done.push(`removed ${removed.length} leftover temp file${removed.length === 1 ? '' : 's'}: ${removed.map((f) => path.basename(f)).join(', ')}`);
  }
  let rebuilt = false;
  if ((has('registry_corrupt') && gathered.corruptBytes) || has('registry_lost')) {
    const result = await rebuildRegistry(ctx, store, has('registry_lost') ? null : gathered.corruptBytes);
    rebuilt = true;
    done.push(
      `${result.backup ? `kept the corrupt registry as ${result.backup} and rebuilt` : 'rebuilt'} ${store.file} from the .env blocks of ${result.recovered.length} worktree${result.recovered.length === 1 ? '' : 's'} ` +
        `(${result.registry.allocations.length} allocation${result.registry.allocations.length === 1 ? '' : 's'})`,
    );
    await keepOutOfGit(ctx, store.file); // a rebuilt registry stays untracked like one created by allocate
    done.push(...result.rangesChanged);
    if (result.byName) done.push(`kept ${result.byName} allocation${result.byName === 1 ? '' : 's'} made by name from the corrupt file`);
    for (const s of result.skipped) done.push(`not recovered: ${s}`);
  }
  const registryWork = rebuilt || ['registry_conflict', 'metadata_out_of_step', 'vanished_worktree', 'env_out_of_step'].some((k) => has(k as Finding['kind']));
  if (registryWork) {
    const config = await ctx.config();
    const snapshot = await snapshotForReconcile(ctx);
    const allocatedBy = currentUser();
    await store.update(async (registry, tx) => {
      const plan = await applyReconcile(registry, tx, snapshot, ctx);
      for (const a of plan?.release ?? []) done.push(`reclaimed ${a.port} (${a.service}) of the vanished worktree ${a.worktree}`);
      const losers = duplicateLosers(registry);
      if (losers.length) {
        const drop = new Set(losers);
        registry.allocations = registry.allocations.filter((a) => !drop.has(a));
        tx.changed();
        for (const a of losers) {
          done.push(`dropped the newer duplicate entry ${a.port} (${a.service} of ${a.worktree}, ${a.allocated_at})`);
          // A live worktree that lost its port gets a new one, as its hook would have given it.
          const live = a.worktree_path && fs.existsSync(a.worktree_path);
          if (!live || !config.services.some((s) => s.name === a.service)) continue;
          const owner: Owner = { worktree: a.worktree, worktreePath: a.worktree_path, ...(a.worktree_id ? { worktreeId: a.worktree_id } : {}) };
          if (registry.allocations.some((x) => x.service === a.service && ownsAllocation(owner, x))) continue;
          try {
            const outcome = await allocateInRegistry(registry, { owner, service: a.service, description: a.description, allocatedBy, now: ctx.now().toISOString() }, checkPortAvailable);
            done.push(`gave ${a.worktree} port ${outcome.allocation.port} for ${a.service} instead`);
          } catch (error) {
            if (!(error instanceof PortsError)) throw error;
            failed.push(`could not give ${a.worktree} a new ${a.service} port: ${error.message}`);
          }
        }
      }
      if (registry.metadata.total_allocations !== registry.allocations.length || findings.some((f) => f.kind === 'metadata_out_of_step')) {
        tx.changed(); // the store recomputes total_allocations and last_updated on every write
        done.push('recomputed the registry metadata');
      }
      for (const worktree of snapshot?.worktrees ?? []) {
        if (worktree.bare || worktree.prunable || !fs.existsSync(worktree.canonicalPath)) continue;
        try {
          const result = await syncWorktreeEnv(ctx, registry, worktree.canonicalPath);
          if (result.changed) done.push(`${result.deleted ? 'removed' : 'rewrote'} the ports block of ${result.file}`);
        } catch (error) {
          if (!(error instanceof PortsError)) throw error;
          failed.push(`left ${path.join(worktree.canonicalPath, config.envFile)} alone: ${error.message}`);
        }
      }
    });
  }
  // After the registry work: a rebuilt registry may leave worktrees (whose .env was lost) without ports.
  const current = has('registry_unreadable') ? null : store.readIfExists();
  for (const w of current ? await unallocatedWorktrees(ctx, current) : []) {
    const id = worktreeIdOf(w.path);
    const owner: Owner = { worktree: w.worktree, worktreePath: w.path, ...(id ? { worktreeId: id } : {}) };
    const config = await ctx.config();
    try {
      const result = await ensureAllocations(ctx, { owner, services: config.services.map((s) => ({ name: s.name, description: s.description })) });
      const made = result.outcomes.filter((o) => o.created).map((o) => `${o.allocation.service} ${o.allocation.port}`);
      if (made.length) done.push(`allocated ${made.join(', ')} for ${w.worktree}${result.envFile ? ` and wrote ${result.envFile}` : ''}`);
    } catch (error) {
      if (!(error instanceof PortsError)) throw error;
      failed.push(`could not allocate for ${w.worktree}: ${error.message}`);
    }
  }
  if (has('hooks_missing') || has('hooks_broken')) {
    const { installHook } = await import('../ops/hook-install');
    const result = await installHook(ctx, { enable: true }); // --fix: the user asked for a hook git runs
    done.push(`${result.action === 'chained' ? 'added ports to' : result.action === 'updated' ? 'repaired' : 'installed'} the post-checkout hook ${result.location.file}`);
  }
  return { done, failed };
}

function printFindings(ctx: Context, findings: readonly Finding[]): void {
  const { out } = ctx;
  findings.forEach((f, i) => {
    if (i > 0) out.result('');
    const mark = f.counts ? out.style('red', '✗') : out.style('yellow', '!');
    out.result(`${mark} ${out.style('bold', f.title)}${f.fixable ? out.style('dim', '  (fixable: ports doctor --fix)') : ''}`);
    out.result(`  ${f.detail}`);
    out.result(`  ${out.style('cyan', '→')} ${f.action}`);
  });
}

export async function doctor(ctx: Context, options: DoctorOptions): Promise<number> {
  const store = await ctx.store();
  let gathered = await gather(ctx, store);
  let findings = diagnose(gathered.facts);
  // Every repair writes under the lock: with no lock possible, --fix fails as every writing command does (exit 5, naming the path).
  if (options.fix && gathered.facts.lock.state === 'unusable') await store.assertLockable();
  let fixed: string[] = options.fix ? await removeEnvTempLeftovers(ctx) : [];
  let failed: string[] = [];
  if (options.fix && findings.some((f) => f.fixable)) {
    const outcome = await applyFixes(ctx, store, gathered, findings);
    fixed = [...fixed, ...outcome.done];
    failed = outcome.failed;
    gathered = await gather(ctx, store);
    findings = diagnose(gathered.facts);
  }
  // A repair that failed is a problem that remains, whatever the second diagnosis says.
  const code = failed.length ? Math.max(doctorExitCode(findings), ExitCode.conflict) : doctorExitCode(findings);
  const problems = findings.filter((f) => f.counts);
  if (ctx.out.json) {
    ctx.out.data({ ok: code === 0, registry: store.file, fixed, failed, findings });
    return code;
  }
  for (const line of fixed) ctx.out.info(`fixed: ${line}`);
  for (const line of failed) ctx.out.warn(`not fixed: ${line}`);
  printFindings(ctx, findings);
  const fixable = problems.filter((f) => f.fixable).length;
  if (code === 0) {
    ctx.out.info(`${fixed.length ? 'Fixed; ' : ''}no problems with the registry, lock, hooks or .env files${findings.length ? ` (${findings.length} note${findings.length === 1 ? '' : 's'} above)` : ''}. Registry: ${store.file}`);
  } else if (failed.length && problems.length === 0) {
    ctx.out.info(`${failed.length} repair${failed.length === 1 ? '' : 's'} failed (see "not fixed" above); run the command it names, then \`ports doctor\` again.`);
  } else {
    ctx.out.info(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} remain${problems.length === 1 ? 's' : ''}${fixable && !options.fix ? `; ${fixable} can be repaired with \`ports doctor --fix\`` : ''}. Run the command after each → to resolve it.`,
    );
  }
  return code;
}
