/**
 * One error model for the whole tool: every failure the user can act on is a PortsError with
 * an exit code (docs/design.md lists them) and a hint that says what to do next. Anything else that reaches
 * main() is a bug and is reported as one.
 */
export const ExitCode = {
  ok: 0,
  usage: 1,
  notFound: 2,
  rangeExhausted: 3,
  conflict: 4,
  registry: 5,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class PortsError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;
  constructor(message: string, options: { exitCode: ExitCodeValue; hint?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode;
    this.hint = options.hint;
  }
}

/** Bad flags or arguments, a port outside its range, anything the user typed wrong. Exit 1. */
export class UsageError extends PortsError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, hint: hint ?? 'Run `ports --help` for usage.' });
  }
}

/** A configuration file that cannot be read or breaks the schema. Exit 1. */
export class ConfigError extends PortsError {
  readonly file: string | undefined;
  constructor(message: string, options: { file?: string; hint?: string; cause?: unknown } = {}) {
    super(message, { exitCode: ExitCode.usage, hint: options.hint, cause: options.cause });
    this.file = options.file;
  }
}

/** A service that is not a key of the registry's ranges. Exit 1. */
export class UnknownServiceError extends PortsError {
  readonly service: string;
  constructor(service: string, known: readonly string[]) {
    super(`Unknown service "${service}".`, {
      exitCode: ExitCode.usage,
      hint: `Known services: ${known.join(', ') || '(none)'}. Add a range for it under "ranges" in your ports config, then run \`ports init\`.`,
    });
    this.service = service;
  }
}

/** A registry, port or worktree that does not exist. Exit 2. */
export class NotFoundError extends PortsError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.notFound, hint });
  }
}

/** The registry file does not exist and the command only reads. Exit 2. */
export class RegistryMissingError extends NotFoundError {
  readonly file: string;
  constructor(file: string) {
    super(`No port registry at ${file}.`, 'Run `ports init` (or `ports allocate`, which creates it).');
    this.file = file;
  }
}

/** No free port left in a service's range. Exit 3. */
export class RangeExhaustedError extends PortsError {
  readonly service: string;
  constructor(service: string, range: { start: number; end: number }, detail: string) {
    super(`No free port in the ${service} range ${range.start}-${range.end} (${detail}).`, {
      exitCode: ExitCode.rangeExhausted,
      hint: 'Release ports you no longer need (`ports status --all`, `ports sync`, `ports release PORT`), or widen the range in your ports config.',
    });
    this.service = service;
  }
}

/** A port already allocated or in use, conflicts found, unhealthy services. Exit 4. */
export class ConflictError extends PortsError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.conflict, hint });
  }
}

/** The registry cannot be understood, written, or its lock was held too long. Exit 5. */
export class RegistryError extends PortsError {
  readonly file: string;
  constructor(file: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { exitCode: ExitCode.registry, hint: options.hint, cause: options.cause });
    this.file = file;
  }
}

/** The registry is not JSON or breaks the schema: it is left exactly as it is. Exit 5. */
export class RegistryCorruptError extends RegistryError {
  readonly problems: readonly string[];
  constructor(file: string, problems: readonly string[]) {
    super(file, `The port registry ${file} is corrupt: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}.`, {
      hint: 'The file was not changed. Fix it by hand, or run `ports doctor --fix` to back it up and rebuild it from the worktrees\' .env files.',
    });
    this.problems = problems;
  }
}

/** Another process held the registry lock for longer than the wait allows. Exit 5. */
export class LockTimeoutError extends RegistryError {
  constructor(file: string, holder: string, waitedMs: number) {
    super(file, `Timed out after ${waitedMs} ms waiting for the registry lock ${file} (held by ${holder}).`, {
      hint: 'If that process is stuck, stop it; `ports doctor --fix` removes a lock whose owner is gone.',
    });
  }
}
