/**
 * `ports proxy [--port N] [--background | --stop | --status]`: the named-URL proxy and the
 * dashboard. In the foreground it runs until SIGINT or SIGTERM, then closes its listeners and
 * connections and exits 0. A port already in use is exit 4. `--background` starts a detached
 * proxy (output in `<state>/proxy.log`) and returns once it listens; `--stop` sends SIGTERM and
 * waits; `--status` exits 0 when a proxy runs, 2 when none does.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context';
import { ConflictError, ExitCode, PortsError, type ExitCodeValue } from '../errors';
import { processLiveness } from '../io/process-info';
import { proxyLogFile, removeOwnProxyPid, runningProxy, writeProxyPid } from '../io/proxy-pid';
import { proxyPortFor } from '../ops/proxy-port';
import { startProxy } from '../ops/proxy-server';

export interface ProxyOptions {
  port?: number;
  background?: boolean;
  stop?: boolean;
  status?: boolean;
}

const dashboardUrl = (port: number) => `http://localhost:${port}/`;

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

async function foreground(ctx: Context, port: number): Promise<number> {
  const proxy = await startProxy({ env: ctx.env, port });
  writeProxyPid(ctx.env, proxy.port);
  for (const note of proxy.notes) ctx.out.warn(note);
  if (ctx.out.json) ctx.out.data({ pid: process.pid, port: proxy.port, addresses: proxy.addresses, dashboard: dashboardUrl(proxy.port) });
  else ctx.out.result(dashboardUrl(proxy.port));
  ctx.out.info(`ports proxy: listening on ${proxy.addresses.join(' and ')} port ${proxy.port}; open ${dashboardUrl(proxy.port)} or http://<service>.<worktree>.localhost:${proxy.port}/ (Ctrl-C stops)`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  ctx.out.info(`ports proxy: ${signal}, stopping`);
  await proxy.close();
  removeOwnProxyPid(ctx.env);
  return ExitCode.ok;
}

async function background(ctx: Context, port: number): Promise<number> {
  const existing = runningProxy(ctx.env);
  if (existing && existing.port !== port && port !== 0) {
    throw new ConflictError(`A proxy already runs on port ${existing.port} (PID ${existing.pid}), not on ${port}.`, 'Stop it first: `ports proxy --stop`.');
  }
  if (existing) {
    ctx.out.info(`ports proxy is already running (PID ${existing.pid}).`);
    ctx.out.result(dashboardUrl(existing.port));
    return ExitCode.ok;
  }
  const log = proxyLogFile(ctx.env);
  fs.mkdirSync(path.dirname(log), { recursive: true });
  const fd = fs.openSync(log, 'a');
  const bin = process.argv[1] as string;
  const child = spawn(process.execPath, [bin, 'proxy', '--port', String(port)], { cwd: ctx.cwd, env: ctx.env, detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  const started = await waitUntil(() => exited !== null || runningProxy(ctx.env)?.pid === child.pid, 15000);
  child.unref();
  if (exited !== null || !started) {
    const tail = fs.readFileSync(log, 'utf8').trim().split('\n').slice(-4).join('\n');
    if (!started) child.kill('SIGTERM');
    throw new PortsError(`The background proxy did not start${exited !== null ? ` (exit ${exited})` : ''}:\n${tail}`, {
      exitCode: (exited ?? ExitCode.conflict) as ExitCodeValue,
      hint: `See ${log}; run \`ports proxy\` in the foreground to watch it.`,
    });
  }
  const record = runningProxy(ctx.env);
  ctx.out.info(`ports proxy: running in the background (PID ${child.pid}); log ${log}; stop it with \`ports proxy --stop\`.`);
  ctx.out.result(dashboardUrl(record?.port ?? port));
  return ExitCode.ok;
}

async function stop(ctx: Context): Promise<number> {
  const record = runningProxy(ctx.env);
  if (!record) {
    ctx.out.info('ports proxy is not running.');
    return ExitCode.ok;
  }
  process.kill(record.pid, 'SIGTERM');
  const gone = await waitUntil(() => processLiveness(record.pid, record.startTime) === 'dead', 10000);
  if (!gone) throw new ConflictError(`The proxy (PID ${record.pid}) did not stop within 10 seconds.`, `Stop it by force: kill -9 ${record.pid}`);
  ctx.out.info(`ports proxy (PID ${record.pid}) stopped.`);
  return ExitCode.ok;
}

function status(ctx: Context): number {
  const record = runningProxy(ctx.env);
  if (ctx.out.json) ctx.out.data(record ? { running: true, pid: record.pid, port: record.port, dashboard: dashboardUrl(record.port) } : { running: false });
  else ctx.out.result(record ? `running: PID ${record.pid}, ${dashboardUrl(record.port)}` : 'not running');
  return record ? ExitCode.ok : ExitCode.notFound;
}

export async function proxy(ctx: Context, options: ProxyOptions): Promise<number> {
  const modes = [options.background, options.stop, options.status].filter(Boolean).length;
  if (modes > 1) throw new PortsError('Use one of --background, --stop, --status.', { exitCode: ExitCode.usage, hint: 'Run `ports proxy --help`.' });
  if (options.stop) return stop(ctx);
  if (options.status) return status(ctx);
  const port = await proxyPortFor(ctx, options.port);
  return options.background ? background(ctx, port) : foreground(ctx, port);
}
