/**
 * For the `ports proxy` tests: the real proxy as a child process of the built CLI, a small dev
 * server per worktree (HTTP + WebSocket echo), and HTTP requests by name. Node does not resolve
 * `*.localhost` the way browsers do, so requests carry a lookup that answers loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as path from 'node:path';
import { WebSocketServer } from 'ws';
import { portsBin, testEnv } from './repo';

export interface ProxyProcess {
  port: number;
  child: ChildProcess;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** `ports proxy --port 0` in `cwd`; resolves once it prints its dashboard URL. */
export function startProxyProcess(cwd: string, extraEnv: Record<string, string | undefined> = {}): Promise<ProxyProcess> {
  const child = spawn(process.execPath, [portsBin(), 'proxy', '--port', '0'], { cwd, env: testEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const match = /^http:\/\/localhost:(\d+)\/$/m.exec(out);
      if (match) {
        resolve({
          port: Number(match[1]),
          child,
          stderr: () => err,
          stop: () => {
            if (child.exitCode === null) child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`ports proxy exited ${code} before listening:\n${err}`)));
  });
}

/** A lookup that sends every name to 127.0.0.1, like a browser does for `*.localhost`. */
export const loopbackLookup = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  if (options && options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}) as unknown as net.LookupFunction;

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
}

/** GET (or another method) `url` with a Host header of `host` (default: the URL's own). */
export function request(url: string, options: { host?: string; method?: string; body?: string; agent?: http.Agent; headers?: http.OutgoingHttpHeaders } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { ...(options.headers ?? {}), ...(options.host ? { host: options.host } : {}) };
    const req = http.request(url, { method: options.method ?? 'GET', headers, agent: options.agent ?? false, lookup: loopbackLookup }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, reusedSocket: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface DevServer {
  port: number;
  /** Connections the server accepted (keep-alive from the proxy keeps this low). */
  connections(): number;
  /** For `/stream`: resolves the second chunk. */
  releaseStream(): void;
  stop(): Promise<void>;
}

/**
 * A worktree's dev server on `host`:`port`: `/` answers JSON naming `who` and echoing the
 * forwarded headers; `POST /echo` streams the body back; `/stream` sends `one`, then `two` only
 * after releaseStream(); WebSocket connections get every message echoed.
 */
export function startDevServer(who: string, port: number, host = '127.0.0.1'): Promise<DevServer> {
  let connections = 0;
  let release: () => void = () => undefined;
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('one');
      release = () => res.end('two');
      return;
    }
    if (req.url === '/echo') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      req.pipe(res);
      return;
    }
    const body = JSON.stringify({ who, url: req.url, host: req.headers.host, xff: req.headers['x-forwarded-for'], xfh: req.headers['x-forwarded-host'], xfp: req.headers['x-forwarded-proto'] });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.on('connection', (socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(binary ? data : `${who}: ${String(data)}`)));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () =>
      resolve({
        port,
        connections: () => connections,
        releaseStream: () => release(),
        stop: () =>
          new Promise((done) => {
            wss.close();
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}

const DEV_SERVER_SCRIPT = `const who = process.argv[2];
const server = require('node:http').createServer((req, res) => res.end('<!doctype html><title>' + who + '</title><h1>' + who + '</h1>'));
server.listen(Number(process.argv[3]), '127.0.0.1', () => process.stdout.write('listening\\n'));
process.on('SIGTERM', () => process.exit(0));
`;

/** A dev server as its own process (`node dev-server.js` in the worktree), as a developer would run one. */
export function startDevServerProcess(dir: string, who: string, port: number): Promise<{ pid: number; stop(): void }> {
  fs.writeFileSync(path.join(dir, 'dev-server.js'), DEV_SERVER_SCRIPT);
  const child = spawn(process.execPath, ['dev-server.js', who, String(port)], { cwd: dir, argv0: 'node', stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve({ pid: child.pid as number, stop: () => child.kill('SIGTERM') }));
    child.once('exit', (code) => reject(new Error(`dev server exited ${code}`)));
  });
}
