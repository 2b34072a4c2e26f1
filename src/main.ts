/**
 * run(argv, deps) → exit code: the one place where errors become exit codes and messages.
 */
import * as fs from 'node:fs';
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
 * A reader that goes away (`ports status | head -1`, `ports doctor | true`) ends the run quietly,
 * as it ends `cat` or `ls`: exit 0, no stack trace.
 */
function endQuietlyOnClosedPipe(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

/** Entry point of bin/ports.js. */
export function main(): void {
  endQuietlyOnClosedPipe();
  run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: currentFolder() }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ports: internal error: ${String(error)}\n`);
      process.exitCode = INTERNAL_ERROR;
    },
  );
}
