/**
 * What every command gets: where it runs, how it prints, and lazy access to the repository, the
 * config and the registry store. Lazy, because `ports status --json` should not pay for
 * cosmiconfig or a git call it does not need. Tests build a Context on real temp repos.
 */
import * as path from 'node:path';
import type { PortsConfig } from './config/schema';
import type { RegistryStore } from './io/registry-store';
import type { RepoInfo } from './io/git';
import type { Output } from './output';

export type { Output } from './output';

export interface GlobalOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  color: boolean;
  cwd: string;
  config: string | undefined;
  registry: string | undefined;
}

export interface Context {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly globals: GlobalOptions;
  readonly out: Output;
  now(): Date;
  /** Paths of the repository around cwd (one git call, cached). */
  repo(): Promise<RepoInfo>;
  /** The project's config (cosmiconfig, cached); EMPTY_CONFIG defaults when there is none. */
  config(): Promise<PortsConfig>;
  /** The registry store for this repository (resolved from flag, env, config, or the default path). */
  store(): Promise<RegistryStore>;
}

export interface ContextDeps {
  env: NodeJS.ProcessEnv;
  out: Output;
  now?: () => Date;
}

/** The real Context: one git call and one config search at most, each on first use. */
export function createContext(globals: GlobalOptions, deps: ContextDeps): Context {
  const cwd = path.resolve(globals.cwd);
  let repo: Promise<RepoInfo> | undefined;
  let config: Promise<PortsConfig> | undefined;
  let store: Promise<RegistryStore> | undefined;
  const now = deps.now ?? (() => new Date());

  /**
   * The `registry` key of the main worktree's config: a branch's config must never fork the
   * registry, so a linked worktree's own value is ignored (with a warning when it differs).
   * Where no main worktree is known (bare repository, separate git dir) or --config names the
   * file, the config in use decides.
   */
  async function registryKey(info: RepoInfo, cfg: PortsConfig): Promise<string | undefined> {
    if (globals.config || !info.isLinkedWorktree || !info.mainRoot) return cfg.registry;
    const { loadConfig } = await import('./config/load');
    const main = await loadConfig({ cwd: info.mainRoot, worktreeRoot: info.mainRoot, mainRoot: info.mainRoot });
    if (cfg.registry !== undefined && cfg.registry !== main.registry) {
      deps.out.warn(
        `the config of this worktree sets "registry": ${JSON.stringify(cfg.registry)}, the main worktree's ${main.registry === undefined ? 'does not' : `says ${JSON.stringify(main.registry)}`}; the main worktree's config decides, so every worktree shares one registry.`,
      );
    }
    return main.registry;
  }

  const ctx: Context = {
    cwd,
    env: deps.env,
    globals,
    out: deps.out,
    now,
    repo() {
      repo ??= import('./io/git').then((git) => git.resolveRepo(cwd, deps.env));
      return repo;
    },
    config() {
      config ??= (async () => {
        const { loadConfig } = await import('./config/load');
        let info: RepoInfo | null = null;
        try {
          info = await ctx.repo();
        } catch (error) {
          if (!globals.config && !(globals.registry || deps.env.PORTS_REGISTRY)) throw error;
        }
        const loaded = await loadConfig({
          cwd,
          worktreeRoot: info?.worktreeRoot ?? null,
          mainRoot: info?.mainRoot ?? null,
          explicitFile: globals.config,
        });
        if (loaded.file) deps.out.debug(`config: ${loaded.file}`);
        return loaded;
      })();
      return config;
    },
    store() {
      store ??= (async () => {
        const { RegistryStore, DEFAULT_REGISTRY_PATH } = await import('./io/registry-store');
        const cfg = await ctx.config();
        let file: string;
        if (globals.registry) file = path.resolve(cwd, globals.registry);
        else if (deps.env.PORTS_REGISTRY) file = path.resolve(cwd, deps.env.PORTS_REGISTRY);
        else {
          const info = await ctx.repo();
          const { registryBase } = await import('./io/git');
          // Read from the common dir alone, so every worktree of the repository finds the same file.
          file = path.resolve(registryBase(info.commonDir), (await registryKey(info, cfg)) ?? DEFAULT_REGISTRY_PATH);
        }
        deps.out.debug(`registry: ${file}`);
        return new RegistryStore(file, { now, extraRanges: cfg.ranges });
      })();
      return store;
    },
  };
  return ctx;
}
