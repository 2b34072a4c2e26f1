/**
 * The project's ports config (cosmiconfig module `ports`: `.portsrc`, `.portsrc.json`,
 * `.portsrc.yaml`, `ports.config.js`, `package.json#ports`, …). Errors are reported with the
 * key path (`services.web.env: …`). `.portsrc.example.json` and `schema/portsrc.schema.json`
 * document the same keys.
 */
import * as z from 'zod/mini';
import { SERVICE_NAME } from '../core/registry-schema';

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const port = z.number().check(z.int(), z.minimum(1), z.maximum(65535));
const positiveMs = z.number().check(z.int(), z.minimum(1), z.maximum(600000));

export const healthSchema = z.strictObject({
  /** http: GET path, expect status; postgres: SSLRequest handshake; redis: PING; tcp: connect; none: bind test only. */
  type: z.optional(z.enum(['http', 'postgres', 'redis', 'tcp', 'none'])),
  path: z.optional(z.string().check(z.regex(/^\/[^\s]*$/, 'must start with / and contain no spaces'))),
  expectStatus: z.optional(z.union([z.number().check(z.int(), z.minimum(100), z.maximum(599)), z.array(z.number().check(z.int(), z.minimum(100), z.maximum(599)))])),
  headers: z.optional(z.record(z.string().check(z.regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')), z.string().check(z.regex(/^[^\r\n]*$/, 'must be one line')))),
  timeoutMs: z.optional(positiveMs),
  host: z.optional(z.string().check(z.minLength(1))),
});

/**
 * Names the tool or the system owns: ports writes COMPOSE_PROJECT_NAME itself, Compose reads
 * COMPOSE_*, and a port number in PATH, HOME, NODE_OPTIONS or LD_PRELOAD breaks `ports exec`
 * and everything it starts.
 */
const RESERVED_ENV_NAME =
  /^(?:COMPOSE_.*|DOCKER_.*|PORTS_.*|PORTS|GIT_.*|LD_.*|DYLD_.*|NODE_.*|NPM_.*|npm_.*|LC_.*|PATH|HOME|USER|LOGNAME|SHELL|PWD|OLDPWD|IFS|ENV|BASH_ENV|CDPATH|TMPDIR|TEMP|TMP|LANG|LANGUAGE|TERM|TZ|DISPLAY|HOSTNAME|XDG_.*|SSH_.*|PYTHONPATH|PYTHONHOME|PERL5LIB|RUBYOPT|JAVA_TOOL_OPTIONS|PS[1-4])$/i;

export const serviceSchema = z.strictObject({
  /** Variable written to .env; default PORT_<SERVICE>. */
  env: z.optional(
    z
      .string()
      .check(
        z.regex(ENV_NAME, 'must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)'),
        z.refine((name) => !RESERVED_ENV_NAME.test(name), 'names a variable that ports, Compose, the shell or the system owns (COMPOSE_*, PATH, HOME, NODE_*, LD_*, …); pick your own, such as PORT_WEB'),
      ),
  ),
  description: z.optional(z.string().check(z.maxLength(200))),
  health: z.optional(healthSchema),
  compose: z.optional(
    z.strictObject({
      /** Compose service whose published port this is; default: the compose service of the same name. */
      service: z.optional(z.string().check(z.regex(/^[a-zA-Z0-9._-]+$/, 'must be a Compose service name'))),
      /** Container-side port; default: inferred from the base file's `ports:` when it has exactly one. */
      containerPort: z.optional(port),
      /** Protocol(s) of the container port; default: what the base file's mappings say, else tcp. */
      protocol: z.optional(z.enum(['tcp', 'udp', 'tcp+udp'])),
    }),
  ),
});

/**
 * `envFile`: a file of the worktree itself, as one pattern (the editor's JSON schema shows it too):
 * not absolute, no `..` or `.git` segment (a linked worktree's `.git` file is its link to the
 * repository), no trailing separator, no control characters.
 */
// eslint-disable-next-line no-control-regex -- control characters are what the pattern excludes
export const WORKTREE_FILE_PATH = /^(?![/\\]|[A-Za-z]:)(?!(?:.*[/\\])?(?:\.\.|\.[Gg][Ii][Tt])(?:[/\\]|$))(?!.*[/\\]$)[^\u0000-\u001f]+$/;
const ENV_FILE_RULE = 'must be a relative path of a file inside the worktree (no leading /, no `..`, nothing under `.git`), such as `.env` or `config/.env.local`';

export const rangeConfigSchema = z
  .strictObject({ start: port, end: port, description: z.optional(z.string()) })
  .check(z.refine((r) => r.start <= r.end, { message: 'start must not be greater than end', path: ['end'] }));

export const configSchema = z.strictObject({
  $schema: z.optional(z.string()),
  /** Registry path, relative to the main worktree's root (default design/worktrees/ports.json). */
  registry: z.optional(z.string().check(z.minLength(1))),
  /** Extra or changed ranges, merged over the default ones. */
  ranges: z.optional(z.record(z.string().check(z.regex(SERVICE_NAME, 'must be a service name')), rangeConfigSchema)),
  /** Services every worktree gets: keys are range keys; `true` takes all defaults. */
  services: z.optional(z.record(z.string().check(z.regex(SERVICE_NAME, 'must be a service name')), z.union([z.literal(true), serviceSchema]))),
  /** Take part in the machine index (default true): false neither records this repository nor avoids the others' ports. */
  machine: z.optional(z.boolean()),
  /** The env file the managed block is written to, relative to the worktree (default .env). */
  envFile: z.optional(z.string().check(z.regex(WORKTREE_FILE_PATH, ENV_FILE_RULE))),
  compose: z.optional(
    z.strictObject({
      /** Base compose files, relative to the worktree (default: Compose's own lookup). */
      files: z.optional(z.array(z.string().check(z.minLength(1)))),
      /** Where `ports compose --write` writes (default docker-compose.override.yml). */
      overrideFile: z.optional(z.string().check(z.minLength(1))),
    }),
  ),
  /** `ports proxy`: the port it listens on (default 7355; PORTS_PROXY_PORT and --port win). */
  proxy: z.optional(z.strictObject({ port: z.optional(port) })),
  /** Also write URL_<SERVICE>=http://<service>.<worktree>.<repo>.localhost:<proxy port>/ into the env block. */
  urls: z.optional(z.boolean()),
});

export type HealthConfig = z.infer<typeof healthSchema>;
export type ServiceConfigInput = z.infer<typeof serviceSchema>;
export type PortsConfigInput = z.infer<typeof configSchema>;

/** A declared service after defaults are applied. */
export interface ServiceConfig {
  name: string;
  env: string;
  description: string;
  health: HealthConfig;
  compose: { service?: string; containerPort?: number; protocol?: 'tcp' | 'udp' | 'tcp+udp' };
}

/** The config after defaults: what commands use. */
export interface PortsConfig {
  /** File the config came from, or null when none was found. */
  file: string | null;
  registry: string | undefined;
  ranges: Record<string, { start: number; end: number; description: string }>;
  services: ServiceConfig[];
  /** Whether allocation coordinates with every other repository of the machine index. */
  machine: boolean;
  envFile: string;
  compose: { files: string[] | undefined; overrideFile: string };
  proxy: { port: number | undefined };
  urls: boolean;
}

export function defaultEnvName(service: string): string {
  return `PORT_${service.toUpperCase().replace(/-/g, '_')}`;
}

export function normalizeConfig(input: PortsConfigInput, file: string | null): PortsConfig {
  const services: ServiceConfig[] = Object.entries(input.services ?? {}).map(([name, raw]) => {
    const s = raw === true ? {} : raw;
    return {
      name,
      env: s.env ?? defaultEnvName(name),
      description: s.description ?? '',
      health: s.health ?? {},
      compose: s.compose ?? {},
    };
  });
  const ranges: PortsConfig['ranges'] = {};
  for (const [name, r] of Object.entries(input.ranges ?? {})) ranges[name] = { start: r.start, end: r.end, description: r.description ?? '' };
  return {
    file,
    registry: input.registry,
    ranges,
    services,
    machine: input.machine ?? true,
    envFile: input.envFile ?? '.env',
    compose: { files: input.compose?.files, overrideFile: input.compose?.overrideFile ?? 'docker-compose.override.yml' },
    proxy: { port: input.proxy?.port },
    urls: input.urls === true,
  };
}

export const EMPTY_CONFIG: PortsConfig = normalizeConfig({}, null);
