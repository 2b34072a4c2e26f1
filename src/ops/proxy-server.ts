/**
 * `ports proxy`: one HTTP server on 127.0.0.1 and ::1 (never a wildcard address) that routes by
 * Host name to the worktrees' dev servers and serves the dashboard at `localhost:PORT/`. Any Host
 * that is not localhost, a loopback address or a `.localhost` name on this port is refused, so
 * the proxy is neither an open proxy nor reachable through DNS rebinding (README, "Named URLs
 * and the dashboard").
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { resolveHost, type Resolution } from '../core/proxy-routes';
import { ConflictError } from '../errors';
import { DashboardFeed, PAGE_HEADERS } from './dashboard-feed';
import { LiveRoutes } from './live-routes';
import { Forwarder, type ForwardFailure } from './proxy-forward';
import { ambiguousPage, downPage, unknownPage } from './proxy-pages';
import { acceptConnection, type TunnelRouting } from './proxy-tunnel';

export interface ProxyOptions {
  env: NodeJS.ProcessEnv;
  /** 0 picks a free port (the same on both addresses). */
  port: number;
}

export interface RunningProxy {
  port: number;
  /** The addresses listened on: 127.0.0.1, and ::1 when this host has it. */
  addresses: string[];
  /** Why ::1 is missing, when it is. */
  notes: string[];
  close(): Promise<void>;
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function send(res: http.ServerResponse, status: number, type: 'html' | 'text', body: string): void {
  res.writeHead(status, { ...PAGE_HEADERS, 'Content-Type': `text/${type === 'html' ? 'html' : 'plain'}; charset=utf-8`, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Exit 4, like any port already in use. */
function portTaken(port: number, address: string): ConflictError {
  return new ConflictError(
    `Port ${port} on ${address} is already in use, so the proxy cannot start there.`,
    `Another \`ports proxy\` may be running (\`ports proxy --status\`), or pick another port: --port N, PORTS_PROXY_PORT, or "proxy": { "port": N } in the config. \`ports which ${port}\` says who holds it.`,
  );
}

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const routes = new LiveRoutes(options.env);
  const forwarder = new Forwarder();
  const sockets = new Set<net.Socket>();
  let port = options.port;
  const feed = (): DashboardFeed => (dashboard ??= new DashboardFeed(routes, port));
  let dashboard: DashboardFeed | undefined;

  const resolve = (host: string | undefined): Resolution => resolveHost(routes.current(), host, port);

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const target = resolve(req.headers.host);
    switch (target.kind) {
      case 'foreign':
        return send(res, 421, 'text', `Refused: this is the ports proxy; it serves only localhost and *.localhost names on port ${port} (${target.reason}).\n`);
      case 'dashboard': {
        const pathname = (req.url ?? '/').split('?')[0];
        if (pathname !== '/') return send(res, 404, 'text', `Not found. The dashboard is http://localhost:${port}/\n`);
        if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text', 'The dashboard is read-only.\n');
        feed()
          .serve(req, res)
          .catch(() => (res.headersSent ? res.destroy() : send(res, 500, 'text', 'The dashboard failed to read the state; see the proxy output.\n')));
        return;
      }
      case 'unknown':
        return send(res, 404, 'html', unknownPage(routes.current(), target.name, port));
      case 'ambiguous':
        return send(res, 300, 'html', ambiguousPage(target.name, target.candidates, port));
      case 'route':
        if (target.route.port === port) return send(res, 508, 'text', `${target.route.service} of ${target.route.worktree} is allocated the proxy's own port ${port}: move the proxy (--port N).\n`);
        return forwarder.http(req, res, target.route.port, (failure: ForwardFailure) => {
          if (!res.headersSent) send(res, 502, 'html', downPage(target.route, failure.error));
        });
    }
  };

  const onUpgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const target = resolve(req.headers.host);
    if (target.kind !== 'route' || target.route.port === port) {
      const status = target.kind === 'foreign' ? '421 Misdirected Request' : '404 Not Found';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    forwarder.upgrade(req, socket, head, target.route.port, () => {
      socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  };

  // Node's HTTP server parses what the fast path hands over (proxy-tunnel); it listens on nothing itself.
  const httpServer = http.createServer({ keepAlive: true, noDelay: true }, onRequest);
  httpServer.on('upgrade', onUpgrade);
  httpServer.on('clientError', (_error, socket) => socket.destroy());
  const routing: TunnelRouting = {
    portFor(host) {
      const target = resolve(host);
      return target.kind === 'route' && target.route.port !== port ? target.route.port : null;
    },
    handOver(socket, read) {
      socket.unshift(read);
      httpServer.emit('connection', socket);
      socket.resume();
    },
  };
  const make = (): net.Server => {
    // Half-open like Node's HTTP server: a client that ends its side still gets the response.
    const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      acceptConnection(socket, routing, forwarder);
    });
    return server;
  };

  const servers: net.Server[] = [];
  const addresses: string[] = [];
  const notes: string[] = [];
  const shutdown = async (): Promise<void> => {
    dashboard?.close();
    routes.close();
    const closed = Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
    for (const socket of sockets) socket.destroy();
    await closed;
    forwarder.close();
  };

  const v4 = make();
  try {
    port = await listen(v4, port, '127.0.0.1');
  } catch (error) {
    await shutdown();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw portTaken(options.port, '127.0.0.1');
    throw error;
  }
  servers.push(v4);
  addresses.push('127.0.0.1');
  const v6 = make();
  try {
    await listen(v6, port, '::1');
    servers.push(v6);
    addresses.push('::1');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      await shutdown();
      throw portTaken(port, '::1');
    }
    notes.push(`::1 is not available here (${code ?? (error as Error).message}); listening on 127.0.0.1 only.`);
  }
  return { port, addresses, notes, close: shutdown };
}
