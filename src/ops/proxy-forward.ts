/**
 * Forwarding one request (or one Upgrade) to a dev server on loopback. Bodies stream both ways
 * (nothing is buffered; a chunked body stays chunked); connections to the targets are kept
 * alive. A dev server that binds `localhost` may listen on ::1 only, so the target is tried on
 * 127.0.0.1, then on ::1 when refused, and the address that answered is remembered per port.
 */
import * as http from 'node:http';
import * as net from 'node:net';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
type Loopback = '127.0.0.1' | '::1';

export interface ForwardFailure {
  port: number;
  error: NodeJS.ErrnoException;
}

export class Forwarder {
  private readonly agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64, scheduling: 'lifo', noDelay: true });
  private readonly addressByPort = new Map<number, Loopback>();

  close(): void {
    this.agent.destroy();
  }

  private order(port: number): Loopback[] {
    const known = this.addressByPort.get(port) ?? '127.0.0.1';
    return [known, known === '127.0.0.1' ? '::1' : '127.0.0.1'];
  }

  /** Forwards `req` to `port`; `onDown` answers when no loopback address accepts the connection. */
  http(req: http.IncomingMessage, res: http.ServerResponse, port: number, onDown: (failure: ForwardFailure) => void): void {
    const headers = forwardedHeaders(req);
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    let current: http.ClientRequest | null = null;
    res.on('close', () => {
      if (!res.writableFinished) current?.destroy();
    });
    const attempt = (hosts: Loopback[]): void => {
      const host = hosts[0] as Loopback;
      let bodySent = false;
      const upstream = http.request({ host, port, method: req.method, path: req.url, headers, agent: this.agent, setHost: false });
      current = upstream;
      if (hasBody) {
        // The body flows only once a socket is connected, so a refused address can be retried on the other one.
        const startBody = () => {
          bodySent = true;
          req.pipe(upstream);
        };
        upstream.on('socket', (socket) => (socket.connecting ? socket.once('connect', startBody) : startBody()));
      } else upstream.end();
      upstream.on('response', (upstreamRes) => {
        this.addressByPort.set(port, host);
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, responseHeaders(upstreamRes));
        // Headers go out with the first piece of body; a response of unknown length that holds its
        // body back (an event stream, a long poll) still gets its headers to the browser at once.
        if (upstreamRes.headers['content-length'] === undefined) {
          setImmediate(() => {
            if (!res.headersSent && !res.destroyed) res.flushHeaders();
          });
        }
        forwardBody(upstreamRes, res);
      });
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        if (!bodySent && isRefused(error) && hosts.length > 1) return attempt(hosts.slice(1));
        // A kept-alive connection the dev server closed just as it was reused: a request without a body is sent again.
        if (upstream.reusedSocket && error.code === 'ECONNRESET' && !res.headersSent && !hasBody) return attempt(hosts);
        if (res.headersSent) return void res.destroy();
        onDown({ port, error });
      });
    };
    attempt(this.order(port));
  }

  /**
   * A connection to the dev server on `port`, on whichever loopback address it listens; `onDown`
   * when neither accepts it.
   */
  connect(port: number, onConnected: (upstream: net.Socket) => void, onDown: (failure: ForwardFailure) => void): void {
    const attempt = (hosts: Loopback[]): void => {
      const host = hosts[0] as Loopback;
      const upstream = net.connect({ host, port, noDelay: true });
      const fail = (error: NodeJS.ErrnoException) => {
        upstream.destroy();
        if (isRefused(error) && hosts.length > 1) return attempt(hosts.slice(1));
        onDown({ port, error });
      };
      upstream.once('error', fail);
      upstream.once('connect', () => {
        upstream.off('error', fail);
        this.addressByPort.set(port, host);
        onConnected(upstream);
      });
    };
    attempt(this.order(port));
  }

  /** Forwards an Upgrade request (WebSocket, h2c, …) and then pipes the two sockets. */
  upgrade(req: http.IncomingMessage, client: net.Socket, head: Buffer, port: number, onDown: (failure: ForwardFailure) => void): void {
    client.setNoDelay(true);
    this.connect(
      port,
      (upstream) => {
        upstream.write(upgradeHead(req));
        if (head.length) upstream.write(head);
        splice(client, upstream);
      },
      onDown,
    );
  }
}

/** Pipes two sockets both ways, until both are done. */
export function splice(client: net.Socket, upstream: net.Socket): void {
  upstream.pipe(client).pipe(upstream);
  bindLifetimes(client, upstream);
}

/**
 * An abrupt end of either socket (an error, a reset, a close before its end) takes the other
 * along; a clean end is passed on after the data that came before it (by `pipe` or `end`).
 */
export function bindLifetimes(client: net.Socket, upstream: net.Socket): void {
  for (const [one, other] of [
    [client, upstream],
    [upstream, client],
  ] as const) {
    one.on('error', () => other.destroy());
    one.on('close', () => (one.readableEnded ? other.end() : other.destroy()));
  }
}

/** What `pipe` does, with fewer listeners per response: backpressure, end, error. */
function forwardBody(from: http.IncomingMessage, to: http.ServerResponse): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.on('end', () => to.end());
  from.on('error', () => to.destroy());
}

function isRefused(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ECONNREFUSED' || error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT';
}

function forwardedFor(req: http.IncomingMessage): string {
  const prior = req.headers['x-forwarded-for'];
  const client = req.socket.remoteAddress ?? '';
  return prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${client}` : client;
}

/** The request's headers minus hop-by-hop ones, plus X-Forwarded-For/-Host/-Proto. Host is kept. */
function forwardedHeaders(req: http.IncomingMessage): http.OutgoingHttpHeaders {
  const connectionTokens = new Set(String(req.headers.connection ?? '').toLowerCase().split(/\s*,\s*/));
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || connectionTokens.has(name)) continue;
    headers[name] = value;
  }
  headers['x-forwarded-for'] = forwardedFor(req);
  headers['x-forwarded-host'] = req.headers.host ?? '';
  headers['x-forwarded-proto'] = 'http';
  return headers;
}

function responseHeaders(res: http.IncomingMessage): http.OutgoingHttpHeaders {
  const connectionTokens = new Set(String(res.headers.connection ?? '').toLowerCase().split(/\s*,\s*/));
  const headers: http.OutgoingHttpHeaders = {};
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || connectionTokens.has(lower)) continue;
    const value = res.rawHeaders[i + 1] as string;
    const prior = headers[name];
    headers[name] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [String(prior)]), value];
  }
  return headers;
}

/** The upgrade request as it arrived (raw header names and order), plus X-Forwarded-*. */
function upgradeHead(req: http.IncomingMessage): string {
  const lines = [`${req.method} ${req.url} HTTP/1.1`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    if (/^x-forwarded-(for|host|proto)$/i.test(name)) continue;
    lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
  }
  lines.push(`X-Forwarded-For: ${forwardedFor(req)}`, `X-Forwarded-Host: ${req.headers.host ?? ''}`, 'X-Forwarded-Proto: http');
  return lines.join('\r\n') + '\r\n\r\n';
}
