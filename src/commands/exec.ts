/**
 * `ports exec -- CMD…`: run CMD with the worktree's variables (each allocation's port variable
 * and COMPOSE_PROJECT_NAME) added to its environment, so `ports exec -- docker compose up -d`
 * works with no `.env` at all. The worktree's declared services are allocated first when it
 * lacks any (the same ensure as `ports allocate`). CMD is spawned directly, never through a
 * shell; stdio is inherited; SIGINT, SIGTERM and SIGHUP are forwarded; the exit code is CMD's,
 * or 128+N when a signal N killed it, 127 when CMD is not found and 126 when it cannot run.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import type { Context } from '../context';
import type { Allocation } from '../core/registry-schema';
import { UsageError } from '../errors';
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

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

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

function runForwardingSignals(ctx: Context, file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  // A Ctrl-C typed in a terminal already reaches CMD (same process group); sending it again
  // would be a second Ctrl-C, which makes `docker compose up` kill instead of stop. So SIGINT
  // is forwarded only when we are not attached to a terminal (a supervisor or a test sent it).
  const onTerminal = process.stdin.isTTY === true || process.stdout.isTTY === true || process.stderr.isTTY === true;
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: ctx.cwd, env, stdio: 'inherit', shell: false });
    const handlers = FORWARDED.map((signal) => {
      const handler = () => {
        if (signal === 'SIGINT' && onTerminal) return;
        child.kill(signal);
      };
      process.on(signal, handler);
      return () => process.off(signal, handler);
    });
    let settled = false;
    const done = (code: number) => {
      if (settled) return;
      settled = true;
      handlers.forEach((off) => off());
      resolve(code);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      const notFound = error.code === 'ENOENT';
      ctx.out.warn(`cannot run ${JSON.stringify(file)}: ${notFound ? 'command not found' : error.message}`);
      done(notFound ? 127 : 126);
    });
    child.once('exit', (code, signal) => {
      if (signal) done(128 + (os.constants.signals[signal] ?? 0));
      else done(code ?? 1);
    });
  });
}
