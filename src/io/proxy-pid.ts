/**
 * `<state>/proxy.pid`: the running proxy's PID, start time and port, written by the proxy once it
 * listens and removed when it stops. A file whose process is gone (or whose PID was reused, told
 * apart by the start time) counts as no proxy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from './atomic-write';
import { stateDir } from './machine-index';
import { processLiveness, processStartTime } from './process-info';

export interface ProxyPidRecord {
  pid: number;
  port: number;
  startTime: string | null;
}

export function proxyPidFile(env: NodeJS.ProcessEnv): string {
  return path.join(stateDir(env), 'proxy.pid');
}

export function proxyLogFile(env: NodeJS.ProcessEnv): string {
  return path.join(stateDir(env), 'proxy.log');
}

export function writeProxyPid(env: NodeJS.ProcessEnv, port: number): void {
  const file = proxyPidFile(env);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify({ pid: process.pid, port, startTime: processStartTime(process.pid) }) + '\n');
}

/** Removes the file only when it still names this process (a newer proxy may have replaced it). */
export function removeOwnProxyPid(env: NodeJS.ProcessEnv): void {
  const record = readProxyPid(env);
  if (record && record.pid !== process.pid) return;
  try {
    fs.unlinkSync(proxyPidFile(env));
  } catch {
    // already gone
  }
}

function readProxyPid(env: NodeJS.ProcessEnv): ProxyPidRecord | null {
  try {
    const data = JSON.parse(fs.readFileSync(proxyPidFile(env), 'utf8')) as Partial<ProxyPidRecord>;
    if (!Number.isInteger(data.pid) || !Number.isInteger(data.port)) return null;
    return { pid: data.pid as number, port: data.port as number, startTime: typeof data.startTime === 'string' ? data.startTime : null };
  } catch {
    return null;
  }
}

/** The running proxy, or null (a stale file is removed). */
export function runningProxy(env: NodeJS.ProcessEnv): ProxyPidRecord | null {
  const record = readProxyPid(env);
  if (!record) return null;
  if (processLiveness(record.pid, record.startTime) === 'alive') return record;
  try {
    fs.unlinkSync(proxyPidFile(env));
  } catch {
    // already gone
  }
  return null;
}
