/**
 * The facts `ports check` and `ports doctor` judge conflicts on: the registry, `git worktree list`,
 * who listens on the allocated ports, what Docker publishes, each worktree's .env block.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import type { PortsConfig } from '../config/schema';
import { findConflicts, type Conflict, type EnvFact } from '../core/conflicts';
import { planReconcile } from '../core/reconcile';
import type { Registry } from '../core/registry-schema';
import { PortsError } from '../errors';
import { listPublishedPorts } from '../io/docker';
import { readWorktreeEnv } from '../io/env-file';
import { findListeners } from '../io/listeners';
import { envVarsFor, projectNameFor } from './env-sync';
import { snapshotForReconcile } from './reconcile';
import type { WorktreeSnapshot } from './worktrees';

/** Expected and actual managed block of every live worktree, and the Compose project each one uses. */
async function gatherEnvFacts(
  ctx: Context,
  registry: Registry,
  config: PortsConfig,
  snapshot: WorktreeSnapshot,
): Promise<{ env: EnvFact[]; composeProjects: Map<string, string> }> {
  const env: EnvFact[] = [];
  const composeProjects = new Map<string, string>();
  for (const worktree of snapshot.worktrees) {
    // A locked worktree may have no folder (on a drive not mounted now): no env file to compare.
    if (worktree.bare || worktree.prunable || !fs.existsSync(worktree.canonicalPath)) continue;
    const root = worktree.canonicalPath;
    const mine = registry.allocations.filter((a) => a.worktree_path === root);
    const project = await projectNameFor(ctx, root);
    const expected = envVarsFor(mine, config, project);
    const name = root.split(/[\\/]/).pop() ?? root;
    let actual: Map<string, string> | null = null;
    let file = root;
    let error: string | null = null;
    let setOutside: { name: string; line: number }[] = [];
    try {
      const read = readWorktreeEnv(root, config.envFile);
      ({ file, vars: actual, setOutside } = read);
    } catch (e) {
      if (!(e instanceof PortsError)) throw e;
      error = e.message;
    }
    composeProjects.set(root, actual?.get('COMPOSE_PROJECT_NAME') ?? project);
    env.push({ worktree: name, worktreePath: root, file, expected, actual, error, setOutside });
  }
  return { env, composeProjects };
}

export async function collectConflicts(ctx: Context): Promise<{ conflicts: Conflict[]; registry: Registry; docker: boolean; worktrees: number }> {
  const store = await ctx.store();
  const registry = store.read();
  const config = await ctx.config();
  const snapshot = await snapshotForReconcile(ctx);
  const ports = [...new Set(registry.allocations.map((a) => a.port))];
  const [listeners, published, envFacts] = await Promise.all([
    findListeners(ports),
    listPublishedPorts({ onSkip: (reason) => ctx.out.debug(`docker: ${reason}`) }),
    snapshot ? gatherEnvFacts(ctx, registry, config, snapshot) : Promise.resolve({ env: [], composeProjects: new Map<string, string>() }),
  ]);
  const conflicts = findConflicts({
    registry,
    liveWorktrees: snapshot ? snapshot.worktrees.filter((w) => !w.bare && !w.prunable).map((w) => w.canonicalPath) : null,
    vanished: snapshot ? planReconcile(registry.allocations, snapshot.facts).release : [],
    listeners,
    published,
    env: envFacts.env,
    composeProjects: envFacts.composeProjects,
    sep: process.platform === 'win32' ? '\\' : '/',
    containerNames: await composeContainerNames(ctx, config),
  });
  return { conflicts, registry, docker: published !== null, worktrees: envFacts.env.length };
}

/** Fixed container_name settings of the current worktree's compose files (none found: none). */
async function composeContainerNames(ctx: Context, config: PortsConfig) {
  const root = (await ctx.repo().catch(() => null))?.worktreeRoot;
  if (!root || config.services.length === 0) return [];
  const { containerNamesIn } = await import('./compose-interpolate');
  return containerNamesIn(ctx, config, root).map((c) => ({ ...c, file: path.relative(root, c.file) || c.file }));
}
