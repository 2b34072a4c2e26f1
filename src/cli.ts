/**
 * The command table and the help text (argv.ts turns argv into a command and its options).
 * A short flag means one long name in every command (`-w` is always `--worktree`).
 * Each command's module is loaded only when that command runs.
 */
import { UsageError } from './errors';
import type { Context } from './context';

export type FlagSpec = { type: 'boolean' | 'string'; short?: string; multiple?: boolean; description: string; value?: string };

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | boolean | string[] | undefined>;
  /** Everything after `--` (for `ports exec`). */
  rest: string[];
}

export interface CommandSpec {
  name: string;
  aliases?: string[];
  usage: string;
  summary: string;
  flags: Record<string, FlagSpec>;
  /** Max positionals (Infinity for any). */
  maxPositionals: number;
  examples?: string[];
  run: (ctx: Context, args: ParsedArgs) => Promise<number>;
}

export const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  json: { type: 'boolean', description: 'print one JSON document on stdout' },
  format: { type: 'string', value: 'text|json', description: 'output format (json is the same as --json)' },
  quiet: { type: 'boolean', short: 'q', description: 'print only results (ports, one per line)' },
  verbose: { type: 'boolean', short: 'v', description: 'explain what is done on stderr' },
  cwd: { type: 'string', value: 'DIR', description: 'run as if started in DIR' },
  config: { type: 'string', value: 'FILE', description: 'use this config file instead of searching' },
  registry: { type: 'string', value: 'FILE', description: 'use this registry file (also PORTS_REGISTRY)' },
  'no-color': { type: 'boolean', description: 'no ANSI colours (also NO_COLOR)' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
  version: { type: 'boolean', description: 'print the version' },
};

const str = (v: ParsedArgs['flags'][string]): string | undefined => (typeof v === 'string' ? v : undefined);
export const list = (v: ParsedArgs['flags'][string]): string[] => (Array.isArray(v) ? v : typeof v === 'string' ? [v] : []);

export function parseInteger(value: string | undefined, what: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${what} must be a whole number from ${min} to ${max}, got "${value}".`);
  }
  return Number(value);
}

export const COMMANDS: CommandSpec[] = [
  {
    name: 'init',
    usage: 'ports init [--force]',
    summary: 'create the registry (default ranges plus ranges from config) and keep it out of git',
    flags: { force: { type: 'boolean', description: 'also apply changed config ranges; replace an unreadable registry after backing it up' } },
    maxPositionals: 0,
    examples: ['ports init'],
    run: async (ctx, a) => (await import('./commands/init')).init(ctx, { force: a.flags.force === true }),
  },
  {
    name: 'allocate',
    aliases: ['alloc'],
    usage: 'ports allocate [SERVICE…] [--service S] [--worktree NAME] [--port N] [--description D]',
    summary: "allocate ports; with no service, every service declared in config for this worktree, then write its .env",
    flags: {
      service: { type: 'string', short: 's', multiple: true, value: 'S', description: 'service (range key) to allocate; repeatable' },
      worktree: { type: 'string', short: 'w', value: 'NAME', description: 'allocate for this worktree name instead of the current one' },
      port: { type: 'string', short: 'p', value: 'N', description: 'ask for this port (exit 4 if taken, 1 if outside the range)' },
      description: { type: 'string', short: 'd', value: 'D', description: 'what the port is for' },
    },
    maxPositionals: Infinity,
    examples: ['ports allocate', 'ports allocate web database', 'ports allocate web --worktree review-GH-42 --quiet', 'ports allocate api --port 3005'],
    run: async (ctx, a) =>
      (await import('./commands/allocate')).allocate(ctx, {
        services: [...a.positionals, ...list(a.flags.service)],
        worktree: str(a.flags.worktree),
        port: parseInteger(str(a.flags.port), '--port', 1, 65535),
        description: str(a.flags.description),
      }),
  },
  {
    name: 'release',
    usage: 'ports release [PORT…] [--worktree NAME] [--service S]',
    summary: "release ports, or all of a worktree's (default: the current one); updates that worktree's .env",
    flags: {
      worktree: { type: 'string', short: 'w', value: 'NAME', description: 'release this worktree’s ports' },
      service: { type: 'string', short: 's', multiple: true, value: 'S', description: 'only this service; repeatable' },
      'stop-containers': { type: 'boolean', description: 'stop the worktree’s running Compose containers first (default: refuse while they run)' },
    },
    maxPositionals: Infinity,
    examples: ['ports release 8081', 'ports release --worktree review-GH-42', 'ports release --service web'],
    run: async (ctx, a) =>
      (await import('./commands/release')).release(ctx, {
        ports: a.positionals.map((p) => parseInteger(p, 'PORT', 1, 65535) as number),
        worktree: str(a.flags.worktree),
        services: list(a.flags.service),
        stopContainers: a.flags['stop-containers'] === true,
      }),
  },
  {
    name: 'next',
    usage: 'ports next SERVICE',
    summary: 'the port `allocate` would give now, the range and the ports taken; changes nothing',
    flags: {},
    maxPositionals: 1,
    examples: ['ports next web'],
    run: async (ctx, a) => {
      if (a.positionals.length !== 1) throw new UsageError('ports next needs a SERVICE.', 'Example: `ports next web`.');
      return (await import('./commands/next')).next(ctx, { service: a.positionals[0] as string });
    },
  },
  {
    name: 'status',
    aliases: ['list', 'ls'],
    usage: 'ports status [--all | --worktree NAME | --machine]',
    summary: 'allocations: of this worktree, of one worktree, all grouped by service with free ports, or every repository of the machine',
    flags: {
      all: { type: 'boolean', short: 'a', description: 'every worktree, grouped by service' },
      worktree: { type: 'string', short: 'w', value: 'NAME', description: 'one worktree' },
      check: { type: 'boolean', description: 'run the health check first' },
      machine: { type: 'boolean', description: 'every repository of the machine index, grouped by repository' },
    },
    maxPositionals: 0,
    examples: ['ports status', 'ports status --all', 'ports list --json', 'ports status --machine --json'],
    run: async (ctx, a) =>
      (await import('./commands/status')).status(ctx, {
        all: a.flags.all === true,
        worktree: str(a.flags.worktree),
        check: a.flags.check === true,
        machine: a.flags.machine === true,
      }),
  },
  {
    name: 'check',
    usage: 'ports check [--ignore KIND]',
    summary: 'report conflicts (same port twice, foreign listeners, vanished worktrees, .env drift, …); exit 4 when any',
    flags: {
      ignore: { type: 'string', multiple: true, value: 'KIND', description: 'do not report this kind (e.g. allocation_mismatch); repeatable' },
    },
    maxPositionals: 0,
    examples: ['ports check', 'ports check --json', 'ports check --ignore allocation_mismatch'],
    run: async (ctx, a) => (await import('./commands/check')).check(ctx, { ignore: list(a.flags.ignore) }),
  },
  {
    name: 'doctor',
    usage: 'ports doctor [--fix]',
    summary: 'diagnose the registry, lock, hooks, .env files and ports and say what to do; --fix repairs what is safe',
    flags: { fix: { type: 'boolean', description: 'repair: stale lock and temp files, corrupt registry (backed up, rebuilt from .env blocks), duplicates, metadata, vanished worktrees, .env blocks, hook' } },
    maxPositionals: 0,
    examples: ['ports doctor', 'ports doctor --fix', 'ports doctor --json'],
    run: async (ctx, a) => (await import('./commands/doctor')).doctor(ctx, { fix: a.flags.fix === true }),
  },
  {
    name: 'health',
    usage: 'ports health [--worktree NAME] [--timeout MS]',
    summary: 'check that allocated services answer; store health_status and process_id; exit 4 when any is not healthy',
    flags: {
      worktree: { type: 'string', short: 'w', value: 'NAME', description: 'only this worktree’s ports (default: every allocation)' },
      timeout: { type: 'string', short: 't', value: 'MS', description: 'per-port timeout (default: the service’s health.timeoutMs, else 2000)' },
    },
    maxPositionals: 0,
    examples: ['ports health', 'ports health --worktree feature-x --timeout 500', 'ports health --json'],
    run: async (ctx, a) =>
      (await import('./commands/health')).health(ctx, {
        worktree: str(a.flags.worktree),
        timeoutMs: parseInteger(str(a.flags.timeout), '--timeout', 1, 600000),
      }),
  },
  {
    name: 'which',
    usage: 'ports which PORT',
    summary: 'who holds PORT: registry owner, listening PID, its command and working directory, container',
    flags: {},
    maxPositionals: 1,
    examples: ['ports which 8081', 'ports which 5432 --json'],
    run: async (ctx, a) => {
      if (a.positionals.length !== 1) throw new UsageError('ports which needs a PORT.', 'Example: `ports which 8081`.');
      return (await import('./commands/which')).which(ctx, { port: parseInteger(a.positionals[0], 'PORT', 1, 65535) as number });
    },
  },
  {
    name: 'exec',
    usage: 'ports exec -- CMD [ARG…]',
    summary: "run CMD with this worktree's port variables and COMPOSE_PROJECT_NAME in its environment; exit with CMD's code",
    flags: {},
    maxPositionals: Infinity,
    examples: ['ports exec -- docker compose up -d', 'ports exec -- npm run dev', 'ports exec -- sh -c \'echo $PORT_WEB\''],
    run: async (ctx, a) => {
      if (a.positionals.length) {
        throw new UsageError(`Put the command after \`--\`: \`ports exec -- ${a.positionals.join(' ')} …\`.`, 'Everything after `--` is the command and its own options; ports never passes it through a shell.');
      }
      return (await import('./commands/exec')).exec(ctx, { command: a.rest });
    },
  },
  {
    name: 'compose',
    usage: 'ports compose [--interpolate [--dry-run] | --write [--plain]] [--file F…] [--output PATH]',
    summary: "Docker Compose override publishing the declared services on this worktree's ports (replacing the base file's)",
    flags: {
      write: { type: 'boolean', description: 'write it (default docker-compose.override.yml, or config compose.overrideFile) instead of printing it' },
      file: { type: 'string', short: 'f', multiple: true, value: 'F', description: 'base compose file, as `docker compose -f`; repeatable (default: compose.files, COMPOSE_FILE, Compose’s lookup)' },
      output: { type: 'string', short: 'o', value: 'PATH', description: 'where --write writes' },
      plain: { type: 'boolean', description: 'no `!override` tag: only when the base file\'s host ports already read the variables (refused otherwise)' },
      interpolate: { type: 'boolean', short: 'i', description: 'rewrite the base file(s) once so host ports read their variable, e.g. "${PORT_WEB:-8080}:80" (every Compose)' },
      'dry-run': { type: 'boolean', short: 'n', description: 'with --interpolate: show the diff, write nothing' },
    },
    maxPositionals: 0,
    examples: ['ports compose', 'ports compose --write', 'ports compose --file compose.yaml --file compose.dev.yaml'],
    run: async (ctx, a) =>
      (await import('./commands/compose')).compose(ctx, {
        write: a.flags.write === true,
        files: list(a.flags.file),
        output: str(a.flags.output),
        plain: a.flags.plain === true,
        interpolate: a.flags.interpolate === true,
        dryRun: a.flags['dry-run'] === true,
      }),
  },
  {
    name: 'sync',
    usage: 'ports sync [--dry-run] [--release-unlinked]',
    summary: 'reclaim ports of worktrees that no longer exist (keeps locked ones); report what was done',
    flags: {
      'dry-run': { type: 'boolean', short: 'n', description: 'report only; change nothing' },
      'release-unlinked': { type: 'boolean', description: 'also release allocations made by name (not linked to a worktree)' },
    },
    maxPositionals: 0,
    examples: ['ports sync --dry-run', 'ports sync'],
    run: async (ctx, a) => (await import('./commands/sync')).sync(ctx, { dryRun: a.flags['dry-run'] === true, releaseUnlinked: a.flags['release-unlinked'] === true }),
  },
  {
    name: 'env',
    usage: 'ports env [--print]',
    summary: "(re)write the current worktree's managed .env block, or print it",
    flags: { print: { type: 'boolean', description: 'print the block instead of writing it' } },
    maxPositionals: 0,
    examples: ['ports env', 'ports env --print'],
    run: async (ctx, a) => (await import('./commands/env')).env(ctx, { print: a.flags.print === true }),
  },
  {
    name: 'remove',
    usage: 'ports remove WORKTREE [--force]',
    summary: "release a worktree's ports, then `git worktree remove` it",
    flags: {
      force: { type: 'boolean', description: 'remove even with modified or untracked files (git worktree remove --force)' },
      'stop-containers': { type: 'boolean', description: 'stop the worktree’s running Compose containers first (default: refuse while they run)' },
    },
    maxPositionals: 1,
    examples: ['ports remove ../feature-x', 'ports remove feature-x --force'],
    run: async (ctx, a) => {
      if (a.positionals.length !== 1) throw new UsageError('ports remove needs a WORKTREE (path or folder name).', 'Example: `ports remove ../feature-x`.');
      return (await import('./commands/remove')).remove(ctx, { worktree: a.positionals[0] as string, force: a.flags.force === true, stopContainers: a.flags['stop-containers'] === true });
    },
  },
  {
    name: 'install',
    usage: 'ports install',
    summary: 'install the post-checkout hook (husky or the common hooks folder), chaining any existing hook',
    flags: {},
    maxPositionals: 0,
    examples: ['ports install'],
    run: async (ctx) => (await import('./commands/install')).install(ctx),
  },
  {
    name: 'uninstall',
    usage: 'ports uninstall',
    summary: 'remove the hook block (restoring a hook that was chained)',
    flags: {},
    maxPositionals: 0,
    run: async (ctx) => (await import('./commands/install')).uninstall(ctx),
  },
  {
    name: 'hook',
    usage: 'ports hook NAME ARGS…',
    summary: 'entry point called by the git hooks (never fails git unless PORTS_STRICT=1)',
    flags: {},
    maxPositionals: Infinity,
    run: async (ctx, a) => {
      const [name = '', ...args] = a.positionals;
      return (await import('./commands/hook')).hook(ctx, { name, args });
    },
  },
  {
    name: 'proxy',
    usage: 'ports proxy [--port N] [--background | --stop | --status]',
    summary: 'named URLs (http://<service>.<worktree>.localhost:N/) and the live dashboard on loopback',
    flags: {
      port: { type: 'string', short: 'p', value: 'N', description: 'listen on N (default: PORTS_PROXY_PORT, config proxy.port, else 7355; 0 picks a free port)' },
      background: { type: 'boolean', description: 'start it detached (PID file and log in the state folder) and return' },
      stop: { type: 'boolean', description: 'stop the background proxy (SIGTERM) and wait' },
      status: { type: 'boolean', description: 'say whether a proxy runs; exit 0 when it does, 2 when not' },
    },
    maxPositionals: 0,
    examples: ['ports proxy', 'ports proxy --background', 'ports proxy --port 7400', 'ports proxy --stop'],
    run: async (ctx, a) =>
      (await import('./commands/proxy')).proxy(ctx, {
        port: parseInteger(str(a.flags.port), '--port', 0, 65535),
        background: a.flags.background === true,
        stop: a.flags.stop === true,
        status: a.flags.status === true,
      }),
  },
  {
    name: 'url',
    usage: 'ports url [SERVICE] [--worktree NAME]',
    summary: "this worktree's named URLs through `ports proxy` (one URL with SERVICE)",
    flags: { worktree: { type: 'string', short: 'w', value: 'NAME', description: 'another worktree’s URLs' } },
    maxPositionals: 1,
    examples: ['ports url', 'ports url web', 'ports url --json'],
    run: async (ctx, a) => (await import('./commands/url')).url(ctx, { service: a.positionals[0], worktree: str(a.flags.worktree) }),
  },
];

function flagLines(flags: Record<string, FlagSpec>): string[] {
  return Object.entries(flags).map(([name, s]) => {
    const left = `${s.short ? `-${s.short}, ` : '    '}--${name}${s.value ? ` ${s.value}` : ''}`;
    return `  ${left.padEnd(28)} ${s.description}`;
  });
}

export function helpText(command?: CommandSpec): string {
  if (command) {
    return [
      `Usage: ${command.usage}`,
      '',
      command.summary,
      ...(Object.keys(command.flags).length ? ['', 'Options:', ...flagLines(command.flags)] : []),
      ...(command.examples?.length ? ['', 'Examples:', ...command.examples.map((e) => `  ${e}`)] : []),
      '',
      'Global options:',
      ...flagLines(GLOBAL_FLAGS),
    ].join('\n');
  }
  return [
    'Usage: ports <command> [options]',
    '',
    'Gives every git worktree of a repository its own network ports.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    '',
    'Global options:',
    ...flagLines(GLOBAL_FLAGS),
    '',
    'Exit codes: 0 ok, 1 invalid arguments/config/unknown service, 2 not found, 3 no free port,',
    '            4 conflict or unhealthy, 5 registry corrupt/unwritable/locked too long.',
    'Run `ports <command> --help` for a command’s options.',
  ].join('\n');
}
