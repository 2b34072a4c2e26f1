/**
 * `ports exec -- CMD…`: run CMD with the worktree's variables (each allocation's port variable
 * and COMPOSE_PROJECT_NAME) added to its environment, so `ports exec -- docker compose up -d`
 * works with no `.env` at all. The worktree's declared services are allocated first when it
 * lacks any (the same ensure as `ports allocate`). CMD is spawned directly, never through a
 * shell; stdio is inherited; every catchable signal is forwarded (FORWARDED); the exit code is
 * CMD's, and when a signal killed CMD, ports dies of the same signal; 127 when CMD is not found,
 * 126 when it cannot run.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import type { Context } from '../context';
import type { Allocation } from '../core/registry-schema';
import { UsageError } from '../errors';
import { startTerminalWitness } from '../io/terminal-witness';
import { ensureDeclaredServices } from '../ops/ensure';
import { envVarsFor, projectNameFor } from '../ops/env-sync';

export interface ExecOptions {
  command: string[];
}

/** The variables `ports exec` adds: the same as the `.env` block, and the project name even with no port. */
export async function worktreeEnv(ctx: Context, ports: { root: string; held: readonly Allocation[] }): Promise<[string, string][]> {
  const config = await ctx.config();
  const project = await projectNameFor(ctx, ports.root);
  const vars = envVarsFor(ports.held, config, project);
  if (!vars.some(([name]) => name === 'COMPOSE_PROJECT_NAME')) vars.push(['COMPOSE_PROJECT_NAME', project]);
  return vars;
}

/**
 * Every signal a process can catch that a supervisor, a terminal or a tool (nodemon: USR2) may
 * send, forwarded to CMD. Not KILL/STOP (cannot be caught), not CHLD/PIPE/URG (about ports
 * itself). A handler on USR1 also keeps Node from opening its inspector on port 9229.
 */
const FORWARDED = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGWINCH', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGVTALRM', 'SIGPROF', 'SIGXCPU', 'SIGXFSZ', 'SIGPWR'].filter(
  (name): name is NodeJS.Signals => name in os.constants.signals,
);
/** Signals a terminal sends to its whole foreground process group (Ctrl-C, Ctrl-\\, Ctrl-Z): CMD may have it already. */
const FROM_TERMINAL: readonly NodeJS.Signals[] = ['SIGINT', 'SIGQUIT', 'SIGTSTP'];

export async function exec(ctx: Context, options: ExecOptions): Promise<number> {
  const [file, ...args] = options.command;
  if (file === undefined || file === '') {
    throw new UsageError('ports exec needs a command after `--`.', 'Example: `ports exec -- docker compose up -d`.');
  }
  const ports = await ensureDeclaredServices(ctx, { announce: true });
  const vars = await worktreeEnv(ctx, ports);
  for (const [name, value] of vars) ctx.out.debug(`exec: ${name}=${value}`);
  const env: NodeJS.ProcessEnv = { ...ctx.env, ...Object.fromEntries(vars) };
  return runForwardingSignals(ctx, file, args, env);
}

/**
 * On a terminal, Ctrl-C reaches CMD directly (same process group), and a second SIGINT makes
 * `docker compose up` kill instead of stop; yet a `kill -INT` sent to ports alone must reach CMD.
 * The terminal witness (io/terminal-witness) tells the two apart.
 */
async function runForwardingSignals(ctx: Context, file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const onTerminal = process.stdin.isTTY === true || process.stdout.isTTY === true || process.stderr.isTTY === true;
  const witness = onTerminal ? await startTerminalWitness(FROM_TERMINAL) : undefined;
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: ctx.cwd, env, stdio: 'inherit', shell: false });
    const send = (signal: NodeJS.Signals) => {
      try {
        child.kill(signal);
      } catch {
        // Already gone: its exit is on its way.
      }
      // ports stops with CMD, so the shell sees the job stopped and `fg` resumes both.
      if (signal === 'SIGTSTP' || signal === 'SIGTTIN' || signal === 'SIGTTOU') process.kill(process.pid, 'SIGSTOP');
    };
    const handlers = FORWARDED.map((signal) => {
      const handler = () => {
        if (!witness || !FROM_TERMINAL.includes(signal)) return send(signal);
        void witness.sawGroupSignal(signal).then((sawIt) => {
          if (!sawIt) send(signal);
          else if (signal === 'SIGTSTP') process.kill(process.pid, 'SIGSTOP');
        });
      };
      process.on(signal, handler);
      return () => process.off(signal, handler);
    });
    let settled = false;
    const done = (code: number, diedOf?: NodeJS.Signals) => {
      if (settled) return;
      settled = true;
      handlers.forEach((off) => off());
      witness?.stop();
      // Die of the same signal, so a shell loop sees death-by-signal (Ctrl-C ends `while …; do ports exec …; done`).
      // Node ignores PIPE and would open its inspector on USR1: those fall back to 128+N.
      if (diedOf && diedOf !== 'SIGUSR1' && diedOf !== 'SIGPIPE') process.kill(process.pid, diedOf);
      resolve(code);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      const notFound = error.code === 'ENOENT';
      ctx.out.warn(`cannot run ${JSON.stringify(file)}: ${notFound ? 'command not found' : error.message}`);
      done(notFound ? 127 : 126);
    });
    child.once('exit', (code, signal) => {
      if (signal) done(128 + (os.constants.signals[signal] ?? 0), signal);
      else done(code ?? 1);
    });
  });
}
