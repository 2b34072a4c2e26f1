/**
 * The registry format (docs/design.md, "The registry contract"), exactly: `ranges`, `allocations`,
 * `metadata`, with their field names and types. Extra fields are allowed and kept (loose
 * objects); every read is validated. zod/mini keeps this off the start-up bill: full zod adds
 * ~20 ms to every run, the mini build ~1 ms.
 */
import * as z from 'zod/mini';

export const SCHEMA_VERSION = 1;
export const REGISTRY_VERSION = '1.0.0';
export const HEALTH_STATUSES = ['unknown', 'healthy', 'unhealthy', 'not_running'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/** Service names are range keys; they become env names and file names, so keep them plain. */
export const SERVICE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,39}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

const port = z.number().check(z.int(), z.minimum(1), z.maximum(65535));
const text = z.string().check(z.refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters'));

const rangeSchema = z
  .looseObject({ start: port, end: port, description: z.string() })
  .check(z.refine((r) => r.start <= r.end, { message: 'start must not be greater than end', path: ['end'] }));

const allocationSchema = z.looseObject({
  port,
  worktree: text.check(z.minLength(1), z.maxLength(255)),
  service: z.string().check(z.regex(SERVICE_NAME, 'must be a service name (letters, digits, - and _)')),
  allocated_at: z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, 'must be an ISO 8601 timestamp')),
  allocated_by: text,
  description: text.check(z.maxLength(1000)),
  process_id: z.nullable(z.number().check(z.int(), z.minimum(1))),
  health_status: z.enum(HEALTH_STATUSES),
  worktree_path: z.optional(text.check(z.minLength(1))),
  worktree_id: z.optional(text),
});

const metadataSchema = z.looseObject({
  version: z.string(),
  last_updated: z.string(),
  total_allocations: z.number().check(z.int(), z.minimum(0)),
  schema_version: z
    .number()
    .check(
      z.int(),
      z.minimum(1),
      z.maximum(SCHEMA_VERSION, `is newer than this version of ports understands (${SCHEMA_VERSION}); upgrade ports`),
    ),
});

export const registrySchema = z.looseObject({
  ranges: z.record(z.string().check(z.regex(SERVICE_NAME, 'range names must be service names (letters, digits, - and _)')), rangeSchema),
  allocations: z.array(allocationSchema),
  metadata: metadataSchema,
});

export interface PortRange {
  start: number;
  end: number;
  description: string;
  [extra: string]: unknown;
}

export interface Allocation {
  port: number;
  worktree: string;
  service: string;
  allocated_at: string;
  allocated_by: string;
  description: string;
  process_id: number | null;
  health_status: HealthStatus;
  /** Absolute path of the worktree, for allocations made for a real worktree (not by name). */
  worktree_path?: string;
  /** git's admin id (`.git/worktrees/<id>`), which survives `git worktree move`. */
  worktree_id?: string;
  [extra: string]: unknown;
}

export interface RegistryMetadata {
  version: string;
  last_updated: string;
  total_allocations: number;
  schema_version: number;
  [extra: string]: unknown;
}

export interface Registry {
  ranges: Record<string, PortRange>;
  allocations: Allocation[];
  metadata: RegistryMetadata;
  [extra: string]: unknown;
}

export const DEFAULT_RANGES: Readonly<Record<string, Readonly<PortRange>>> = {
  web: { start: 8080, end: 8099, description: 'HTTP web servers and frontend development servers' },
  database: { start: 5432, end: 5439, description: 'Database services (PostgreSQL, MySQL, MongoDB)' },
  testing: { start: 9000, end: 9099, description: 'Test runners, test servers, mock services' },
  debug: { start: 5555, end: 5564, description: 'Debugger connections and debugging proxies' },
  api: { start: 3000, end: 3099, description: 'REST APIs, GraphQL servers, backend services' },
  cache: { start: 6379, end: 6389, description: 'Redis, Memcached, and other caching services' },
};

export function emptyRegistry(now: string, extraRanges: Record<string, PortRange> = {}): Registry {
  const ranges: Record<string, PortRange> = {};
  for (const [name, range] of Object.entries({ ...DEFAULT_RANGES, ...extraRanges })) ranges[name] = { ...range };
  return {
    ranges,
    allocations: [],
    metadata: { version: REGISTRY_VERSION, last_updated: now, total_allocations: 0, schema_version: SCHEMA_VERSION },
  };
}

/** `allocations[3].port` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out || '(root)';
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the text ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'a number too large for JSON';
  return `${typeof value === 'object' ? 'an object' : `a ${typeof value}`}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

type Issue = z.core.$ZodIssue;

/** zod's type names as a reader says them (a record is a JSON object). */
const EXPECTED_NOUN: Record<string, string> = { int: 'an integer', array: 'an array', object: 'an object', record: 'an object', number: 'a number', string: 'a string' };

/** zod/mini ships no messages; this turns an issue into `allocations[0].port: expected a number ≤ 65535, got 70000`. */
export function formatIssue(issue: Issue, input: unknown): string {
  const where = formatPath(issue.path);
  const got = describeValue(valueAt(input, issue.path));
  switch (issue.code) {
    case 'invalid_type':
      return `${where}: expected ${EXPECTED_NOUN[issue.expected] ?? `a ${issue.expected}`}, got ${got}`;
    case 'too_big':
      return issue.origin === 'number'
        ? `${where}: expected a number ≤ ${String(issue.maximum)}${String(issue.path.at(-1)) === 'schema_version' ? ` (${issue.message !== 'Invalid input' ? issue.message : 'too new'})` : ''}, got ${got}`
        : `${where}: too long (at most ${String(issue.maximum)})`;
    case 'too_small':
      return issue.origin === 'number' ? `${where}: expected a number ≥ ${String(issue.minimum)}, got ${got}` : `${where}: must not be empty`;
    case 'invalid_value':
      return `${where}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}`;
    case 'invalid_format':
      return `${where}: ${issue.message !== 'Invalid input' ? issue.message : `invalid format`}, got ${got}`;
    case 'unrecognized_keys':
      return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_union': {
      // `true | { … }`: report the branch that got furthest (deepest issue path), not "invalid input".
      const branches = issue.errors.filter((b) => b.length > 0);
      const depth = (b: Issue[]) => Math.max(...b.map((i) => i.path.length));
      const best = branches.sort((a, b) => depth(b) - depth(a))[0];
      if (best && depth(best) > 0) return best.map((i) => formatIssue({ ...i, path: [...issue.path, ...i.path] } as Issue, input)).join('; ');
      return `${where}: ${got} is not one of the accepted forms`;
    }
    case 'invalid_key':
      return `${where}: invalid key: ${issue.issues.map((i) => i.message).join('; ')}`;
    default:
      return `${where}: ${issue.message}${issue.message === 'Invalid input' ? `, got ${got}` : ''}`;
  }
}

export type SchemaResult = { ok: true; registry: Registry } | { ok: false; problems: string[] };

export function validateRegistry(data: unknown): SchemaResult {
  const result = registrySchema.safeParse(data);
  if (result.success) return { ok: true, registry: result.data as Registry };
  return { ok: false, problems: result.error.issues.map((issue) => formatIssue(issue, data)) };
}

/** What the reader would reject in one allocation: checked before an allocation enters the registry, so the tool never writes what it cannot read. */
export function allocationProblems(data: unknown): string[] {
  const result = allocationSchema.safeParse(data);
  return result.success ? [] : result.error.issues.map((issue) => formatIssue(issue, data));
}
