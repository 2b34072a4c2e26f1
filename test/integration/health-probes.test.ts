import { mapBounded } from '../../src/core/bounded';
import { probeHttp, probePostgres, probeRedis, probeTcp, type ProbeResult } from '../../src/io/health-probes';
import { findListeners } from '../../src/io/listeners';
import {
  freePort,
  ipv6LoopbackAvailability,
  postgresAvailability,
  redisAvailability,
  testWhen,
  startHttpServer,
  startPostgres,
  startRedis,
  startSilentTcpServer,
  type RealServer,
  type Stoppable,
} from '../helpers/servers';

const started: Stoppable[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});
async function track<T extends Stoppable>(server: Promise<T>): Promise<T> {
  const value = await server;
  started.push(value);
  return value;
}

const withIpv6 = testWhen(ipv6LoopbackAvailability());
const withRedis = testWhen(redisAvailability());
const withPostgres = testWhen(postgresAvailability());

describe('probeHttp against a real Node HTTP server', () => {
  test('200 is ok; after the server turns to 500 it answers but is not ok', async () => {
    const server = await track(startHttpServer('127.0.0.1', 200));
    const healthy = await probeHttp(server.port, { timeoutMs: 2000 });
    expect(healthy).toMatchObject({ ok: true, answered: true, host: '127.0.0.1' });
    expect(healthy.detail).toContain('HTTP 200');

    server.respondWith(500);
    const failing = await probeHttp(server.port, { timeoutMs: 2000 });
    expect(failing).toMatchObject({ ok: false, answered: true, host: '127.0.0.1' });
    expect(failing.detail).toContain('HTTP 500');
    expect(failing.detail).toContain('expected 200-399');
  });

  test('uses the configured path, headers and expected status', async () => {
    const server = await track(startHttpServer('127.0.0.1', 204));
    const result = await probeHttp(server.port, { timeoutMs: 2000, path: '/healthz?deep=1', headers: { 'X-Probe': 'ports' }, expectStatus: [204] });
    expect(result.ok).toBe(true);
    expect(server.requests.at(-1)).toMatchObject({ path: '/healthz?deep=1', headers: expect.objectContaining({ 'x-probe': 'ports' }) });
    const strict = await probeHttp(server.port, { timeoutMs: 2000, expectStatus: 200 });
    expect(strict).toMatchObject({ ok: false, answered: true });
  });

  withIpv6('finds a service on ::1 only, and one on 127.0.0.1 only, via the right host', async () => {
    const v6 = await track(startHttpServer('::1'));
    const v4 = await track(startHttpServer('127.0.0.1'));
    expect(await probeHttp(v6.port, { timeoutMs: 2000 })).toMatchObject({ ok: true, host: '::1' });
    expect(await probeHttp(v4.port, { timeoutMs: 2000 })).toMatchObject({ ok: true, host: '127.0.0.1' });
    expect(await probeTcp(v6.port, { timeoutMs: 2000 })).toMatchObject({ ok: true, host: '::1' });
    expect(await probeHttp(v4.port, { timeoutMs: 2000, hosts: ['::1'] })).toMatchObject({ ok: false, answered: false, host: null });
    const [v6Listener] = await findListeners([v6.port]);
    expect(v6Listener).toMatchObject({ family: 6, address: '::1', pid: process.pid });
  });
});

describe('a listener that accepts and never answers', () => {
  test.each([
    ['http', probeHttp],
    ['redis', probeRedis],
    ['postgres', probePostgres],
  ] as const)('the %s probe gives up after about the timeout, connected but not answered', async (_name, probe) => {
    const server = await track(startSilentTcpServer());
    const result = await probe(server.port, { timeoutMs: 400 });
    expect(result).toMatchObject({ ok: false, answered: false, host: '127.0.0.1' });
    expect(result.detail).toMatch(/no .*within 400 ms/);
    expect(result.latencyMs).toBeGreaterThanOrEqual(350);
    expect(result.latencyMs).toBeLessThan(1400);
    expect(server.accepted()).toBeGreaterThanOrEqual(1);
  });

  test('a plain TCP probe is satisfied by the accepted connection', async () => {
    const server = await track(startSilentTcpServer());
    expect(await probeTcp(server.port, { timeoutMs: 1000 })).toMatchObject({ ok: true, answered: true, host: '127.0.0.1' });
  });

  test('30 probes with a 600 ms timeout, bounded to 16 at a time, finish well under 3 s', async () => {
    const servers = await Promise.all(Array.from({ length: 30 }, () => track(startSilentTcpServer())));
    const probes = [probeHttp, probeRedis, probePostgres];
    const began = Date.now();
    const results = await mapBounded(servers, 16, (server, i) => probes[i % 3]!(server.port, { timeoutMs: 600 }));
    const elapsed = Date.now() - began;
    expect(results).toHaveLength(30);
    expect(results.every((r) => !r.ok && !r.answered)).toBe(true);
    expect(elapsed).toBeLessThan(3000);
  });
});

describe('nothing listening', () => {
  test.each([
    ['tcp', probeTcp],
    ['http', probeHttp],
    ['redis', probeRedis],
    ['postgres', probePostgres],
  ] as const)('the %s probe reports refused on every host, quickly', async (_name, probe) => {
    const port = await freePort();
    const result: ProbeResult = await probe(port, { timeoutMs: 2000 });
    expect(result).toMatchObject({ ok: false, answered: false, host: null });
    expect(result.detail).toContain('127.0.0.1: connection refused');
    expect(result.latencyMs).toBeLessThan(1000);
  });

  test('never throws, even for a port number no socket can use', async () => {
    await expect(probeTcp(70000, { timeoutMs: 200 })).resolves.toMatchObject({ ok: false, answered: false });
    await expect(probeHttp(0, { timeoutMs: 200 })).resolves.toMatchObject({ ok: false });
  });
});

/** The server a test's availability check promised. */
function present(server: RealServer | null, binary: string): RealServer {
  if (!server) throw new Error(`${binary} was found when the file loaded but did not start`);
  return server;
}

describe('a real redis-server', () => {
  withRedis('answers PING with PONG; the listener PID is redis-server\'s', async () => {
    const redis = present(await startRedis(), 'redis-server');
    started.push(redis);
    expect(await probeRedis(redis.port, { timeoutMs: 2000 })).toMatchObject({ ok: true, answered: true, detail: 'PONG', host: '127.0.0.1' });
    expect(await probePostgres(redis.port, { timeoutMs: 500 })).toMatchObject({ ok: false });
    expect(await probeHttp(redis.port, { timeoutMs: 2000 })).toMatchObject({ ok: false });
    const listeners = await findListeners([redis.port]);
    expect(listeners.map((l) => l.pid)).toEqual([redis.pid]);
    expect(listeners[0]?.command).toContain('redis-server');
  });

  withRedis('with a password, is up but says auth required', async () => {
    const redis = present(await startRedis({ password: 'secret-for-test' }), 'redis-server');
    started.push(redis);
    expect(await probeRedis(redis.port, { timeoutMs: 2000 })).toMatchObject({ ok: true, answered: true, detail: 'auth required' });
  });
});

describe('a real PostgreSQL', () => {
  withPostgres('answers the SSLRequest without a password; the listener PID is the postmaster', async () => {
    const postgres = present(await startPostgres(), 'PostgreSQL');
    started.push(postgres);
    const result = await probePostgres(postgres.port, { timeoutMs: 2000 });
    expect(result).toMatchObject({ ok: true, answered: true, host: '127.0.0.1' });
    expect(result.detail).toMatch(/^PostgreSQL/);
    expect((await probeRedis(postgres.port, { timeoutMs: 1000 })).ok).toBe(false);
    const listeners = await findListeners([postgres.port]);
    expect(listeners.map((l) => l.pid)).toEqual([postgres.pid]);
    expect(listeners[0]?.command).toContain('postgres');
  }, 60000);
});

describe('mapBounded', () => {
  test('keeps input order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapBounded([50, 10, 30, 0, 20, 40], 3, async (delay, index) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, delay));
      running--;
      return `${index}:${delay}`;
    });
    expect(results).toEqual(['0:50', '1:10', '2:30', '3:0', '4:20', '5:40']);
    expect(peak).toBe(3);
  });

  test('rejects with the first failure and starts nothing after it', async () => {
    const seen: number[] = [];
    await expect(
      mapBounded([1, 2, 3, 4, 5], 1, async (n) => {
        seen.push(n);
        if (n === 2) throw new Error('boom');
        return n;
      }),
    ).rejects.toThrow('boom');
    expect(seen).toEqual([1, 2]);
    await expect(mapBounded([], 4, async () => 1)).resolves.toEqual([]);
    await expect(mapBounded([1], 0, async () => 1)).rejects.toThrow(RangeError);
  });
});
