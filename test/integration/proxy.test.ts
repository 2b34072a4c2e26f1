/**
 * `ports proxy` for real: two repositories installed with the hook, worktrees added with git,
 * a dev server on each worktree's allocated web port, and the built CLI's proxy in a child
 * process on a port it got from listen(0).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import WebSocket from 'ws';
import { parseProcNetTcp } from '../../src/io/listeners';
import { processLiveness } from '../../src/io/process-info';
import { loopbackLookup, request, startDevServer, startProxyProcess, type DevServer, type ProxyProcess } from '../helpers/proxy';
import { cleanupTemps, git, makeInstalledRepo, ports, testEnv, type Repo } from '../helpers/repo';
import { waitFor } from '../helpers/servers';

let alpha: Repo;
let beta: Repo;
let proxy: ProxyProcess;
const servers: DevServer[] = [];
// A container may have no IPv6 loopback.
const IPV6 = Object.values(os.networkInterfaces()).flat().some((i) => i?.address === '::1');
const hasIpv6 = IPV6;
let featureOne: DevServer;

const webPort = (repo: Repo, dir: string): number => repo.allocationsOf(dir).find((a) => a.service === 'web')!.port;
const at = (host: string, path = '/') => `http://${host}:${proxy.port}${path}`;
const featureOnePort = (service: string): number => alpha.allocationsOf(alpha.wt('Feature_One')).find((a) => a.service === service)!.port;

/** A plain TCP server on Feature_One's `cache` port, the dev server of one test; `stop` also drops its connections. */
async function rawCacheServer(onConnection: (socket: net.Socket) => void): Promise<{ stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(featureOnePort('cache'), '127.0.0.1', resolve));
  return {
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

beforeAll(async () => {
  alpha = makeInstalledRepo({ base: 26300, name: 'alpha' });
  beta = makeInstalledRepo({ base: 26700, name: 'beta' });
  git(['worktree', 'add', '-q', alpha.wt('Feature_One')], alpha.main);
  git(['worktree', 'add', '-q', alpha.wt('shared')], alpha.main);
  git(['worktree', 'add', '-q', beta.wt('shared')], beta.main);
  featureOne = await startDevServer('alpha/Feature_One', webPort(alpha, alpha.wt('Feature_One')));
  servers.push(featureOne);
  // A dev server that bound `localhost` on a machine preferring IPv6 listens on ::1 only.
  servers.push(await startDevServer('alpha/shared', webPort(alpha, alpha.wt('shared')), hasIpv6 ? '::1' : '127.0.0.1'));
  servers.push(await startDevServer('beta/shared', webPort(beta, beta.wt('shared'))));
  proxy = await startProxyProcess(alpha.main);
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all(servers.map((s) => s.stop()));
  cleanupTemps();
});

describe('ports proxy routing by Host name', () => {
  it('routes <service>.<worktree>.localhost to that worktree, slugging the name, with X-Forwarded headers', async () => {
    const reply = await request(at('web.feature-one.localhost', '/page?x=1'));
    expect(reply.status).toBe(200);
    const seen = JSON.parse(reply.body);
    expect(seen).toMatchObject({ who: 'alpha/Feature_One', url: '/page?x=1', host: `web.feature-one.localhost:${proxy.port}`, xfh: `web.feature-one.localhost:${proxy.port}`, xfp: 'http' });
    expect(seen.xff).toMatch(/127\.0\.0\.1$/);
  });

  it('routes <worktree>.localhost to the first declared service', async () => {
    expect(JSON.parse((await request(at('feature-one.localhost'))).body).who).toBe('alpha/Feature_One');
  });

  it('routes the long form <service>.<worktree>.<repo>.localhost, and lists the long names for an ambiguous short one', async () => {
    expect(JSON.parse((await request(at('web.shared.beta.localhost'))).body).who).toBe('beta/shared');
    expect(JSON.parse((await request(at('web.shared.alpha.localhost'))).body).who).toBe('alpha/shared');
    const ambiguous = await request(at('web.shared.localhost'));
    expect(ambiguous.status).toBe(300);
    expect(ambiguous.body).toContain(`web.shared.alpha.localhost:${proxy.port}`);
    expect(ambiguous.body).toContain(`web.shared.beta.localhost:${proxy.port}`);
  });

  (IPV6 ? it : it.skip)(IPV6 ? 'reaches a dev server listening on ::1 only' : 'reaches a dev server on ::1 only — SKIPPED: this host has no ::1 loopback', async () => {
    expect(JSON.parse((await request(at('web.shared.alpha.localhost'))).body).who).toBe('alpha/shared');
  });

  it('keeps connections alive to the client and to the dev server', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const before = featureOne.connections();
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await request(at('web.feature-one.localhost'), { agent }));
    agent.destroy();
    expect(replies.slice(1).every((r) => r.reusedSocket)).toBe(true);
    expect(featureOne.connections() - before).toBeLessThanOrEqual(1);
  });

  it('sends a GET again when the dev server closed the kept-alive connection it was reused on', async () => {
    // Answers the first request of each connection with keep-alive, then hangs up on the next one.
    const server = await rawCacheServer((socket) => {
      let served = 0;
      socket.on('data', () => {
        if (served++ === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
        else socket.destroy();
      });
    });
    try {
      const first = await request(at('cache.feature-one.localhost'));
      const second = await request(at('cache.feature-one.localhost'));
      expect([first.status, first.body, second.status, second.body]).toEqual([200, 'ok', 200, 'ok']);
    } finally {
      await server.stop();
    }
  });

  it('streams a chunked response piece by piece, and a chunked request body through', async () => {
    const first = await new Promise<{ firstChunk: string; encoding: string | undefined; rest: Promise<string> }>((resolve, reject) => {
      http
        .get(at('web.feature-one.localhost', '/stream'), { lookup: loopbackLookup }, (res) => {
          let all = '';
          const rest = new Promise<string>((done) => res.on('end', () => done(all)));
          res.setEncoding('utf8');
          res.once('data', (chunk: string) => {
            all += chunk;
            res.on('data', (more: string) => (all += more));
            resolve({ firstChunk: chunk, encoding: res.headers['transfer-encoding'], rest });
          });
        })
        .on('error', reject);
    });
    // The first piece arrived while the dev server still held the second one back.
    expect(first.firstChunk).toBe('one');
    expect(first.encoding).toBe('chunked');
    featureOne.releaseStream();
    expect(await first.rest).toBe('onetwo');

    const echoed = await new Promise<string>((resolve, reject) => {
      const req = http.request(at('web.feature-one.localhost', '/echo'), { method: 'POST', lookup: loopbackLookup }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.write('a'.repeat(100000));
      setImmediate(() => req.end('end'));
    });
    expect(echoed).toBe('a'.repeat(100000) + 'end');
  });

  it('echoes WebSocket messages through the proxy', async () => {
    const ws = new WebSocket(`ws://web.feature-one.localhost:${proxy.port}/hmr`, { lookup: loopbackLookup } as WebSocket.ClientOptions);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('ping'));
      ws.once('message', (data) => resolve(String(data)));
      ws.once('error', reject);
    });
    ws.close();
    expect(reply).toBe('alpha/Feature_One: ping');
  });

  it('refuses foreign Host names, other addresses and other ports (no open proxy, no DNS rebinding)', async () => {
    for (const host of ['evil.com', `evil.com:${proxy.port}`, `192.168.1.5:${proxy.port}`, `localhost:${proxy.port + 1}`, `web.feature-one.localhost.evil.com:${proxy.port}`]) {
      const reply = await request(at('127.0.0.1'), { host });
      expect([host, reply.status]).toEqual([host, 421]);
    }
    const upgrade = await new Promise<string>((resolve) => {
      const socket = net.connect(proxy.port, '127.0.0.1', () =>
        socket.write(`GET / HTTP/1.1\r\nHost: evil.com:${proxy.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`),
      );
      let text = '';
      socket.setEncoding('utf8').on('data', (d: string) => (text += d));
      socket.on('close', () => resolve(text));
    });
    expect(upgrade).toMatch(/^HTTP\/1\.1 421/);
  });

  it('listens on loopback addresses only', async () => {
    const tcp4 = parseProcNetTcp(fs.readFileSync('/proc/net/tcp', 'utf8'), 4).filter((l) => l.port === proxy.port);
    const tcp6 = fs.existsSync('/proc/net/tcp6') ? parseProcNetTcp(fs.readFileSync('/proc/net/tcp6', 'utf8'), 6).filter((l) => l.port === proxy.port) : [];
    expect(tcp4.map((l) => l.address)).toEqual(['127.0.0.1']);
    expect(tcp6.map((l) => l.address)).toEqual(hasIpv6 ? ['::1'] : []);
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) {
      const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
        const socket = net.connect(proxy.port, external.address, () => {
          socket.destroy();
          resolve(null);
        });
        socket.on('error', resolve);
      });
      expect(error?.code).toBe('ECONNREFUSED');
    }
  });

  it('answers 502 naming the worktree, service, port and how to start it when the dev server is down', async () => {
    const dir = alpha.wt('Feature_One');
    const reply = await request(at('api.feature-one.localhost'));
    expect(reply.status).toBe(502);
    expect(reply.body).toContain('api of Feature_One is not running');
    expect(reply.body).toContain(`port <strong>${alpha.allocationsOf(dir).find((a) => a.service === 'api')!.port}</strong>`);
    expect(reply.body).toContain(`cd ${dir} &amp;&amp; ports exec -- `);
  });

  it('answers 404 with links to the known routes for an unknown name', async () => {
    const reply = await request(at('nope.feature-one.localhost'));
    expect(reply.status).toBe(404);
    expect(reply.body).toContain(`href="http://web.feature-one.localhost:${proxy.port}/"`);
    expect(reply.body).toContain(`web.shared.beta.localhost:${proxy.port}`);
  });

  it('escapes the name it could not find', async () => {
    const reply = await request(at('127.0.0.1'), { host: `<img src=x onerror=alert(1)>.localhost:${proxy.port}` });
    expect(reply.status).toBe(404);
    expect(reply.body).toContain('&lt;img src=x onerror=alert(1)&gt;.localhost');
    expect(reply.body).not.toContain('<img');
  });

  it('picks up a worktree added after it started, and pushes a dashboard snapshot naming it', async () => {
    const events: string[] = [];
    const sse = http.get(at('localhost'), { headers: { accept: 'text/event-stream' } }, (res) => res.setEncoding('utf8').on('data', (d: string) => events.push(d)));
    await waitFor('the first snapshot', () => events.join('').includes('event: snapshot'));
    git(['worktree', 'add', '-q', alpha.wt('late-comer')], alpha.main);
    await waitFor('a snapshot naming late-comer', () => events.join('').includes('"name":"late-comer"'), 5000);
    sse.destroy();
    const reply = await request(at('web.late-comer.localhost'));
    expect(reply.status).toBe(502);
    expect(reply.body).toContain('web of late-comer is not running');
  });

  it('exits 4 with a clear message when its port is taken', () => {
    const second = ports(['proxy', '--port', String(proxy.port)], alpha.main);
    expect(second.status).toBe(4);
    expect(second.stderr).toContain(`Port ${proxy.port} on 127.0.0.1 is already in use`);
  });
});

describe('ports proxy passing a connection through (one dev-server connection per client connection)', () => {
  /** A dev server on the `api` port of Feature_One that answers each request with what it received. */
  let api: { port: number; received: string[]; sockets: Set<net.Socket>; server: http.Server };
  beforeAll(async () => {
    const port = featureOnePort('api');
    const received: string[] = [];
    const sockets = new Set<net.Socket>();
    const server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('latin1').on('data', (d: string) => (body += d));
      req.on('end', () => {
        const seen = JSON.stringify({ method: req.method, url: req.url, xff: req.headers['x-forwarded-for'], xfh: req.headers['x-forwarded-host'], xfp: req.headers['x-forwarded-proto'], body, trailer: req.trailers['x-trailer'] });
        received.push(seen);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(seen) });
        res.end(seen);
      });
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    api = { port, received, sockets, server };
  });
  afterAll(async () => {
    for (const s of api.sockets) s.destroy();
    await new Promise((resolve) => api.server.close(resolve));
  });

  const host = () => `api.feature-one.localhost:${proxy.port}`;
  const connect = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: proxy.port }, () => resolve(socket));
      socket.on('error', reject);
    });
  /** The bodies of the next `count` responses (each with a Content-Length), in order. */
  const responses = (socket: net.Socket, count: number) =>
    new Promise<Array<{ status: number; body: Record<string, unknown> }>>((resolve, reject) => {
      let text = '';
      const found: Array<{ status: number; body: Record<string, unknown> }> = [];
      const onData = (d: Buffer) => {
        text += d.toString('latin1');
        for (;;) {
          const end = text.indexOf('\r\n\r\n');
          const length = /content-length: (\d+)/i.exec(text.slice(0, end))?.[1];
          if (end === -1 || length === undefined || text.length < end + 4 + Number(length)) break;
          found.push({ status: Number(text.slice(9, 12)), body: JSON.parse(text.slice(end + 4, end + 4 + Number(length))) });
          text = text.slice(end + 4 + Number(length));
        }
        if (found.length >= count) {
          socket.off('data', onData);
          resolve(found);
        }
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new Error(`closed after ${found.length} of ${count} responses`)));
    });

  it('carries GETs, a sized body and a chunked body with a trailer, pipelined or dribbled, each with X-Forwarded-*', async () => {
    const socket = await connect();
    try {
      const requests = [
        `GET /one HTTP/1.1\r\nHost: ${host()}\r\nX-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Host: evil.example\r\n\r\n`,
        `POST /two HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 11\r\n\r\nhello\r\n\r\nGE`,
        `POST /three HTTP/1.1\r\nHost: ${host()}\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: yes\r\n\r\n`,
        `GET /four HTTP/1.1\r\nHost: ${host()}\r\n\r\n`,
        // The same host in other letters: still this pairing, and X-Forwarded-Host as this request sent it.
        `GET /five HTTP/1.1\r\nHost: ${host().toUpperCase()}\r\nConnection: keep-alive\r\n\r\n`,
      ];
      // All in one write: the proxy must find each head behind the body before it.
      const together = responses(socket, requests.length);
      socket.write(requests.join(''));
      const first = await together;
      // The same again, one byte per write, on the same connection.
      const dribbled = responses(socket, requests.length);
      const bytes = Buffer.from(requests.join(''), 'latin1');
      for (let i = 0; i < bytes.length; i++) {
        socket.write(bytes.subarray(i, i + 1));
        if (i % 16 === 0) await new Promise((r) => setImmediate(r));
      }
      const second = await dribbled;
      for (const replies of [first, second]) {
        expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
        expect(replies.map((r) => [r.body.method, r.body.url, r.body.body, r.body.trailer ?? null])).toEqual([
          ['GET', '/one', '', null],
          ['POST', '/two', 'hello\r\n\r\nGE', null],
          ['POST', '/three', 'abc0123456789abcdef', 'yes'],
          ['GET', '/four', '', null],
          ['GET', '/five', '', null],
        ]);
        expect(replies[0]!.body).toMatchObject({ xff: '10.1.2.3, 127.0.0.1', xfh: host(), xfp: 'http' });
        for (const r of replies.slice(1, 4)) expect(r.body).toMatchObject({ xff: '127.0.0.1', xfh: host(), xfp: 'http' });
        expect(replies[4]!.body).toMatchObject({ xff: '127.0.0.1', xfh: host().toUpperCase(), xfp: 'http' });
      }
    } finally {
      socket.destroy();
    }
  });

  it("passes the dev server's response on byte for byte", async () => {
    // No Date, odd header case, a reason phrase of its own: what Node's HTTP server would have rewritten.
    const raw = 'HTTP/1.1 203 Quite Fine\r\nx-ODD-Case: 1\r\nContent-Length: 5\r\n\r\nfive!';
    const server = await rawCacheServer((s) => s.once('data', () => s.write(raw)));
    const socket = await connect();
    try {
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.write(`GET / HTTP/1.1\r\nHost: cache.feature-one.localhost:${proxy.port}\r\n\r\n`);
      await waitFor('the whole response', () => got.length >= raw.length, 5000);
      expect(got).toBe(raw);
    } finally {
      socket.destroy();
      await server.stop();
    }
  });

  it('closes the connection when a later request on it names another host, and sends that request nowhere', async () => {
    const socket = await connect();
    try {
      const first = responses(socket, 1);
      socket.write(`GET /mine HTTP/1.1\r\nHost: ${host()}\r\n\r\n`);
      expect((await first)[0]!.body.url).toBe('/mine');
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.write(`GET /theirs HTTP/1.1\r\nHost: web.feature-one.localhost:${proxy.port}\r\n\r\n`);
      await closed;
      expect(api.received.some((r) => r.includes('/theirs'))).toBe(false);
    } finally {
      socket.destroy();
    }
  });

  it('survives clients that reset the connection before, during and after a request', async () => {
    for (const when of ['before', 'during', 'after']) {
      const socket = await connect();
      if (when !== 'before') socket.write(`GET /reset HTTP/1.1\r\nHost: ${host()}\r\n${when === 'after' ? '\r\n' : ''}`);
      if (when === 'after') await responses(socket, 1);
      socket.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 100));
    expect((await request(at('api.feature-one.localhost', '/still'))).status).toBe(200);
  });

  it('answers a client that ends its side after the request, and hands a slow reader all of a response the dev server closed after', async () => {
    const big = 'x'.repeat(8 * 1024 * 1024);
    const server = await rawCacheServer((s) => s.once('data', () => s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n${big}`)));
    const socket = await connect();
    try {
      socket.end(`GET /big HTTP/1.1\r\nHost: cache.feature-one.localhost:${proxy.port}\r\nConnection: close\r\n\r\n`);
      // Read nothing for a while: the dev server has long closed when the reader starts.
      socket.pause();
      await new Promise((r) => setTimeout(r, 500));
      let got = 0;
      socket.on('data', (d: Buffer) => (got += d.length));
      socket.resume();
      await new Promise((resolve) => socket.once('close', resolve));
      expect(got).toBe(big.length + `HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n`.length);
    } finally {
      socket.destroy();
      await server.stop();
    }
  });

  it('gives a first request that arrives in pieces to the full proxy, which still routes it', async () => {
    const socket = await connect();
    try {
      const reply = responses(socket, 1);
      socket.write(`GET /pieces HTTP/1.1\r\nHo`);
      await new Promise((r) => setTimeout(r, 50));
      socket.write(`st: ${host()}\r\n\r\n`);
      expect((await reply)[0]!.body).toMatchObject({ url: '/pieces', xff: '127.0.0.1', xfh: host(), xfp: 'http' });
    } finally {
      socket.destroy();
    }
  });
});

describe('ports url', () => {
  it("prints the worktree's URLs, the short form of the first service, and JSON", () => {
    const dir = alpha.wt('Feature_One');
    const text = ports(['url'], dir);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^web +\d+ +http:\/\/web\.feature-one\.localhost:\d+\/$/m);
    expect(text.stdout).toMatch(/^http:\/\/feature-one\.localhost:\d+\/ \(web\)$/m);
    expect(ports(['url', 'api'], dir).stdout).toMatch(/^http:\/\/api\.feature-one\.localhost:\d+\/\n$/);
    const json = JSON.parse(ports(['url', '--json'], alpha.wt('shared')).stdout) as { service: string; port: number; url: string }[];
    expect(json.map((r) => r.service)).toEqual(['web', 'api', 'database', 'cache']);
    // `shared` exists in two repositories: the long, unambiguous form.
    expect(json[0]!.url).toMatch(/^http:\/\/web\.shared\.alpha\.localhost:\d+\/$/);
    expect(json[0]!.port).toBe(webPort(alpha, alpha.wt('shared')));
  });

  it('writes URL_<SERVICE> into the env block when the config says urls: true', () => {
    const dir = alpha.wt('Feature_One');
    const file = `${dir}/.portsrc.json`;
    const config = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...config, urls: true, proxy: { port: 7400 } }));
    try {
      const printed = ports(['env', '--print'], dir);
      expect(printed.stdout).toContain('URL_WEB=http://web.feature-one.localhost:7400/');
      expect(printed.stdout).toContain('URL_DATABASE=http://database.feature-one.localhost:7400/');
    } finally {
      fs.writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
    }
  });
});

describe('ports proxy lifecycle', () => {
  it('stops on SIGTERM with a keep-alive, an SSE and a WebSocket connection open: exit 0, PID file removed', async () => {
    // The state folder the CLI runs of this file get (test/helpers/repo.ts testEnv).
    const pidFile = `${testEnv().PORTS_STATE_DIR}/proxy.pid`;
    expect(JSON.parse(fs.readFileSync(pidFile, 'utf8')).pid).toBe(proxy.child.pid);
    const agent = new http.Agent({ keepAlive: true });
    await request(at('web.feature-one.localhost'), { agent });
    const sse = http.get(at('localhost'), { headers: { accept: 'text/event-stream' } });
    sse.on('error', () => undefined);
    const ws = new WebSocket(`ws://web.feature-one.localhost:${proxy.port}/`, { lookup: loopbackLookup } as WebSocket.ClientOptions);
    ws.on('error', () => undefined);
    await new Promise((resolve) => ws.once('open', resolve));
    expect(await proxy.stop()).toBe(0);
    agent.destroy();
    expect(fs.existsSync(pidFile)).toBe(false);
    expect(proxy.stderr()).toContain('SIGTERM, stopping');
  });

  it('runs in the background with --background, reports it with --status, stops with --stop', async () => {
    const started = ports(['proxy', '--background', '--port', '0'], alpha.main);
    expect(started.status).toBe(0);
    const port = Number(/localhost:(\d+)\//.exec(started.stdout)![1]);
    const status = ports(['proxy', '--status', '--json'], alpha.main);
    expect(status.status).toBe(0);
    const record = JSON.parse(status.stdout);
    expect(record).toMatchObject({ running: true, port });
    expect((await request(`http://localhost:${port}/`)).body).toContain('Worktrees and their ports');
    expect(ports(['proxy', '--stop'], alpha.main).status).toBe(0);
    // Dead or a zombie: the detached proxy's parent is whatever reaps orphans here.
    expect(processLiveness(record.pid)).toBe('dead');
    const after = ports(['proxy', '--status'], alpha.main);
    expect([after.status, after.stdout]).toEqual([2, 'not running\n']);
  });
});

describe('ports proxy --background on a taken port', () => {
  it('exits 4 and shows why the detached proxy did not start', async () => {
    await proxy.stop(); // no proxy of this state folder runs
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const run = ports(['proxy', '--background', '--port', String(port)], alpha.main);
      expect(run.status).toBe(4);
      expect(run.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(ports(['proxy', '--status'], alpha.main).status).toBe(2);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
