/**
 * Health level 3: does the thing on the port answer? HTTP GET, a PostgreSQL SSLRequest, a Redis
 * PING, or a plain TCP connect — handshakes that need no driver and no password. Each probe tries
 * its hosts in order (a service may listen on ::1 only or 127.0.0.1 only), never throws, and is
 * bounded as a whole by `timeoutMs`, so a silent listener costs one timeout, not one per host.
 */
import * as http from 'node:http';
import * as net from 'node:net';

export interface ProbeResult {
  /** The service gave the expected answer. */
  ok: boolean;
  /** The service said something (any HTTP status, any bytes); false for refused and silent. */
  answered: boolean;
  detail: string;
  /** The host that accepted the connection; null when none did. */
  host: string | null;
  latencyMs: number;
}

export interface ProbeOptions {
  hosts?: string[];
  timeoutMs: number;
}

export interface HttpProbeOptions extends ProbeOptions {
  path?: string;
  expectStatus?: number | number[];
  headers?: Record<string, string>;
}

export const DEFAULT_PROBE_HOSTS: readonly string[] = ['127.0.0.1', '::1'];

/** What one attempt on one host found out. */
interface Attempt {
  connected: boolean;
  answered: boolean;
  ok: boolean;
  detail: string;
}

/** `remainingMs` bounds this attempt; `timeoutMs` is the whole probe's, for messages. */
type AttemptFn = (host: string, remainingMs: number, timeoutMs: number) => Promise<Attempt>;

/**
 * Tries each host until one answers or the shared deadline passes. Refused and unreachable hosts
 * fail fast, so trying 127.0.0.1 before ::1 costs nothing for an IPv6-only service.
 */
async function probeHosts(hostsOption: string[] | undefined, timeoutMs: number, attempt: AttemptFn): Promise<ProbeResult> {
  const started = Date.now();
  const hosts = hostsOption && hostsOption.length > 0 ? hostsOption : [...DEFAULT_PROBE_HOSTS];
  const deadline = started + Math.max(1, timeoutMs);
  const failures: string[] = [];
  let silent: { host: string; detail: string } | null = null;
  for (const host of hosts) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    let result: Attempt;
    try {
      result = await attempt(host, remaining, timeoutMs);
    } catch (error) {
      result = { connected: false, answered: false, ok: false, detail: describeError(error) };
    }
    if (result.answered || result.ok) {
      return { ok: result.ok, answered: true, detail: result.detail, host, latencyMs: Date.now() - started };
    }
    if (result.connected) silent ??= { host, detail: result.detail };
    else failures.push(`${host}: ${result.detail}`);
  }
  const latencyMs = Date.now() - started;
  if (silent) return { ok: false, answered: false, detail: silent.detail, host: silent.host, latencyMs };
  const detail = failures.length > 0 ? failures.join('; ') : `no answer within ${timeoutMs} ms`;
  return { ok: false, answered: false, detail, host: null, latencyMs };
}

function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return `address not available (${code})`;
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    default:
      return code ?? (error instanceof Error ? error.message : String(error));
  }
}

/**
 * Connects, sends `request`, and hands every chunk received so far to `judge` until it decides.
 * The socket is always destroyed before the promise settles.
 */
function converse(
  host: string,
  port: number,
  remainingMs: number,
  timeoutMs: number,
  request: Buffer | string | null,
  judge: (received: Buffer) => { ok: boolean; detail: string } | 'more',
): Promise<Attempt> {
  return new Promise((resolve) => {
    let connected = false;
    let received = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host, port });
    const finish = (attempt: Attempt): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(attempt);
    };
    const timer = setTimeout(() => {
      finish({
        connected,
        answered: false,
        ok: false,
        detail: connected ? `connected, but no answer within ${timeoutMs} ms` : `no connection within ${timeoutMs} ms`,
      });
    }, remainingMs);
    socket.on('connect', () => {
      connected = true;
      if (request === null) finish({ connected, answered: true, ok: true, detail: 'accepted a connection' });
      else socket.write(request);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const verdict = judge(received);
      if (verdict !== 'more') finish({ connected, answered: true, ...verdict });
    });
    socket.on('end', () => {
      if (received.length > 0) {
        const verdict = judge(received);
        finish({ connected, answered: true, ...(verdict === 'more' ? { ok: false, detail: `incomplete answer: ${preview(received)}` } : verdict) });
      } else {
        finish({ connected, answered: false, ok: false, detail: 'connection closed without an answer' });
      }
    });
    socket.on('error', (error) => finish({ connected, answered: false, ok: false, detail: describeError(error) }));
  });
}

function preview(data: Buffer): string {
  const text = data.subarray(0, 60).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
  return JSON.stringify(text + (data.length > 60 ? '…' : ''));
}

export function probeTcp(port: number, opts: ProbeOptions): Promise<ProbeResult> {
  return probeHosts(opts.hosts, opts.timeoutMs, (host, remaining, timeout) => converse(host, port, remaining, timeout, null, () => 'more'));
}

/** A Redis answers PING with +PONG; one that wants a password still proves it is up. */
export function probeRedis(port: number, opts: ProbeOptions): Promise<ProbeResult> {
  return probeHosts(opts.hosts, opts.timeoutMs, (host, remaining, timeout) =>
    converse(host, port, remaining, timeout, 'PING\r\n', (received) => {
      const end = received.indexOf('\r\n');
      if (end < 0) return received.length > 512 ? { ok: false, detail: `not a Redis reply: ${preview(received)}` } : 'more';
      const line = received.subarray(0, end).toString('utf8');
      if (line === '+PONG') return { ok: true, detail: 'PONG' };
      if (line.startsWith('-NOAUTH')) return { ok: true, detail: 'auth required' };
      if (line.startsWith('-DENIED')) return { ok: true, detail: 'protected mode: Redis denies connections from this address' };
      if (line.startsWith('-')) return { ok: false, detail: `Redis error: ${line.slice(1, 200)}` };
      return { ok: false, detail: `not a Redis reply: ${preview(received)}` };
    }),
  );
}

/** SSLRequest: length 8, code 80877103. A PostgreSQL server answers one byte, 'S' or 'N'. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

export function probePostgres(port: number, opts: ProbeOptions): Promise<ProbeResult> {
  return probeHosts(opts.hosts, opts.timeoutMs, (host, remaining, timeout) =>
    converse(host, port, remaining, timeout, SSL_REQUEST, (received) => {
      const first = String.fromCharCode(received[0] ?? 0);
      if (received.length === 1 && (first === 'S' || first === 'N')) {
        return { ok: true, detail: first === 'S' ? 'PostgreSQL (SSL available)' : 'PostgreSQL (SSL not enabled)' };
      }
      if (first === 'E') return { ok: false, detail: `PostgreSQL refused the handshake: ${preview(received.subarray(5))}` };
      return { ok: false, detail: `not a PostgreSQL reply: ${preview(received)}` };
    }),
  );
}

function statusMatches(status: number, expect: number | number[] | undefined): boolean {
  if (expect === undefined) return status >= 200 && status <= 399;
  return Array.isArray(expect) ? expect.includes(status) : status === expect;
}

function describeExpectation(expect: number | number[] | undefined): string {
  if (expect === undefined) return '200-399';
  return Array.isArray(expect) ? expect.join(' or ') : String(expect);
}

export function probeHttp(port: number, opts: HttpProbeOptions): Promise<ProbeResult> {
  const path = opts.path ?? '/';
  return probeHosts(opts.hosts, opts.timeoutMs, (host, remaining, timeout) =>
    new Promise<Attempt>((resolve) => {
      let connected = false;
      let settled = false;
      // agent false: a fresh socket per probe, nothing kept alive to hold the process open.
      const request = http.request({ host, port, path, method: 'GET', agent: false, headers: { ...opts.headers, Connection: 'close' } });
      const finish = (attempt: Attempt): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.destroy();
        resolve(attempt);
      };
      const timer = setTimeout(() => {
        finish({
          connected,
          answered: false,
          ok: false,
          detail: connected ? `connected, but no HTTP response within ${timeout} ms` : `no connection within ${timeout} ms`,
        });
      }, remaining);
      request.on('socket', (socket) => socket.once('connect', () => (connected = true)));
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        const ok = statusMatches(status, opts.expectStatus);
        response.resume();
        const detail = `HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''} for GET ${path}${ok ? '' : ` (expected ${describeExpectation(opts.expectStatus)})`}`;
        finish({ connected: true, answered: true, ok, detail });
      });
      request.on('error', (error) => {
        // A parse error means bytes came back, just not HTTP: the port answers, with something else.
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (connected && code.startsWith('HPE_')) finish({ connected, answered: true, ok: false, detail: `not an HTTP response (${code})` });
        else finish({ connected, answered: false, ok: false, detail: connected ? `${describeError(error)} before an HTTP response` : describeError(error) });
      });
      request.end();
    }),
  );
}
