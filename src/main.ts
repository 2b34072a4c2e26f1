/**
 * run(argv, deps) → exit code: the one place where errors become exit codes and messages.
 */
import * as fs from 'node:fs';
import type * as Tty from 'node:tty';
import * as path from 'node:path';
import { ExitCode, PortsError } from './errors';
import { parseArgs } from './argv';
import { COMMANDS, helpText } from './cli';
import { createContext, type Context } from './context';
import { colorWanted, createOutput, type Streams } from './output';

export interface RunDeps extends Streams {
  env: NodeJS.ProcessEnv;
  cwd: string;
  now?: () => Date;
}

/** The installed package's version; read when asked, so the bundle and the package never disagree. */
export function packageVersion(): string {
  // One folder up from src/ (tests), dist/ (library) and the dist/ports.cjs bundle alike.
  return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
}
/** Not one of the documented codes on purpose: an internal error is a bug (EX_SOFTWARE). */
export const INTERNAL_ERROR = 70;

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const fallbackOut = createOutput(deps, { json: false, quiet: false, verbose: false, color: colorWanted(deps.env, deps.stderr.isTTY === true, undefined) });
  let out = fallbackOut;
  try {
    const { command, name, args } = parseArgs(argv);
    const f = args.flags;
    const format = typeof f.format === 'string' ? f.format : undefined;
    if (format !== undefined && format !== 'json' && format !== 'text') {
      throw new PortsError(`--format must be "text" or "json", got "${format}".`, { exitCode: ExitCode.usage });
    }
    const json = f.json === true || format === 'json';
    out = createOutput(deps, {
      json,
      quiet: f.quiet === true,
      verbose: f.verbose === true,
      color: colorWanted(deps.env, deps.stdout.isTTY === true, f['no-color'] === true ? false : undefined),
    });
    if (f.version) {
      out.result(packageVersion());
      return ExitCode.ok;
    }
    if (!command) {
      if (name) {
        throw new PortsError(`Unknown command "${name}".`, {
          exitCode: ExitCode.usage,
          hint: `Commands: ${COMMANDS.map((c) => c.name).join(', ')}. Run \`ports --help\`.`,
        });
      }
      deps.stdout.write(helpText() + '\n');
      return f.help ? ExitCode.ok : ExitCode.usage;
    }
    if (f.help) {
      deps.stdout.write(helpText(command) + '\n');
      return ExitCode.ok;
    }
    if (typeof f.cwd === 'string' && !isFolder(path.resolve(deps.cwd || '/', f.cwd))) {
      throw new PortsError(`No such folder: ${f.cwd} (given with --cwd).`, { exitCode: ExitCode.usage, hint: 'Pass an existing folder to --cwd.' });
    }
    if (typeof f.cwd !== 'string' && !deps.cwd) {
      throw new PortsError('The current folder no longer exists (it was deleted or moved away).', {
        exitCode: ExitCode.usage,
        hint: '`cd` to an existing folder (a worktree of your repository), or pass --cwd DIR.',
      });
    }
    const ctx: Context = createContext(
      {
        json,
        quiet: f.quiet === true,
        verbose: f.verbose === true,
        color: out.color,
        cwd: typeof f.cwd === 'string' ? path.resolve(deps.cwd || '/', f.cwd) : deps.cwd,
        config: typeof f.config === 'string' ? f.config : undefined,
        registry: typeof f.registry === 'string' ? f.registry : undefined,
      },
      { env: deps.env, out, now: deps.now },
    );
    return await command.run(ctx, args);
  } catch (error) {
    return reportError(error, out, deps.stderr);
  }
}

export function reportError(error: unknown, out: ReturnType<typeof createOutput>, stderr: Streams['stderr']): number {
  if (error instanceof PortsError) {
    const lines = [`${out.style('red', 'ports:')} ${error.message}`];
    if (error.hint) lines.push(`  ${error.hint}`);
    if (out.verbose && error.cause instanceof Error) lines.push(out.style('dim', `  cause: ${error.cause.stack ?? error.cause.message}`));
    stderr.write(lines.join('\n') + '\n');
    return error.exitCode;
  }
  const err = error as Error;
  stderr.write(`ports: internal error (a bug, please report it): ${err?.stack ?? String(error)}\n`);
  return INTERNAL_ERROR;
}

function isFolder(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** '' when the current folder was deleted (process.cwd() throws ENOENT); run() then says so. */
function currentFolder(): string {
  try {
    return process.cwd();
  } catch {
    return '';
  }
}

/**
 * stdout or stderr written straight to the file descriptor. Touching process.stdout and
 * process.stderr builds their stream objects: ~4 ms CPU in a bare `node -e` (piped, medians of
 * 30: 38.1 against 33.8 ms); in `ports status --json`, piped, 62.6 → 61.2 ms CPU (medians of 30,
 * Node 24). Writes are synchronous either way (files, pipes and terminals on Linux).
 */
export function fdStream(fd: 1 | 2): Streams['stdout'] {
  let closed = false;
  let tty: boolean | undefined;
  return {
    get isTTY() {
      tty ??= isTerminal(fd);
      return tty;
    },
    write(chunk: string) {
      if (closed) return true;
      const bytes = Buffer.from(chunk);
      for (let offset = 0; offset < bytes.length; ) {
        try {
          offset += fs.writeSync(fd, bytes, offset);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          // A reader that went away (`ports status | head -1`): drop the rest, as a pipe would.
          if (code === 'EPIPE') {
            closed = true;
            return true;
          }
          // A non-blocking descriptor shared with another process: wait until it drains.
          if (code !== 'EAGAIN') throw error;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        }
      }
      return true;
    },
  };
}

/**
 * A pipe or a file (hooks, scripts, CI) is never a terminal, and fstat says so without loading
 * node:tty, which pulls in node:net and the stream classes: ~3.5 ms CPU on Node 24 (`node -e`,
 * medians of 30: 32.5 against 29.0 ms). On Linux the device number also answers for the usual
 * character devices: a pseudo-terminal (majors 136-143: every terminal window, ssh, tmux) is one,
 * /dev/null and its kin (major 1) are not. Only other devices are asked about further.
 */
function isTerminal(fd: number): boolean {
  let stat: fs.Stats;
  try {
    stat = fs.fstatSync(fd);
  } catch {
    return false;
  }
  if (!stat.isCharacterDevice()) return false;
  if (process.platform === 'linux') {
    const major = Math.floor(stat.rdev / 256) % 4096;
    if (major >= 136 && major <= 143) return true;
    if (major === 1) return false;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:tty') as typeof Tty).isatty(fd);
}


/** Entry point of bin/ports.js. */
export function main(): void {
  run(process.argv.slice(2), { stdout: fdStream(1), stderr: fdStream(2), env: process.env, cwd: currentFolder() }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ports: internal error: ${String(error)}\n`);
      process.exitCode = INTERNAL_ERROR;
    },
  );
}
