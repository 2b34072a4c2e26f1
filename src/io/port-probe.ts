/**
 * Is a port free on this machine? A bind test, because only the kernel knows: a listener on
 * 127.0.0.1, ::1, a wildcard or an interface address all make the bind fail. `::` (dual-stack)
 * catches IPv4 and IPv6 listeners at once: on Linux libuv binds it dual-stack whatever
 * net.ipv6.bindv6only says (tested in a network namespace with it set), and Node falls back to
 * 0.0.0.0 by itself where IPv6 is off, so a free `::` is the answer there. Elsewhere, and when
 * the first bind is refused, 0.0.0.0 is tried as well.
 */
import * as net from 'node:net';

type BindOutcome = 'free' | 'busy' | 'unsupported' | 'denied';

/** `host` undefined: Node's default, the dual-stack `::` (or 0.0.0.0 where IPv6 is off). */
function tryBind(port: number, host: string | undefined): Promise<BindOutcome> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve('busy');
      else if (error.code === 'EACCES' || error.code === 'EPERM') resolve('denied');
      else resolve('unsupported'); // EAFNOSUPPORT, EADDRNOTAVAIL: no such family/address here
    });
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve('free'));
    });
  });
}

export function canConnect(port: number, host: string, timeoutMs = 250): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when nobody listens on `port` on IPv4 or IPv6, loopback, wildcard or interface address. */
export async function checkPortAvailable(port: number): Promise<boolean> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return false;
  // No host given rather than '::': the same dual-stack bind, without Node compiling its IPv6
  // address regex on the first call (3 ms of a run that probes a few ports).
  const v6 = await tryBind(port, undefined);
  if (v6 === 'busy') return false;
  // Saves four binds and loading node:dns (a host makes Node look it up) on every allocation.
  if (v6 === 'free' && process.platform === 'linux') return true;
  const v4 = await tryBind(port, '0.0.0.0');
  if (v4 === 'busy') return false;
  if (v6 === 'denied' || v4 === 'denied') {
    // Privileged port and no right to bind it: fall back to asking whether anyone answers.
    return !((await canConnect(port, '127.0.0.1')) || (await canConnect(port, '::1')));
  }
  return v6 === 'free' || v4 === 'free';
}

/**
 * One bind test on an ephemeral port (port 0). The first bind test of a process costs ~2.5 ms
 * more than the next (net.Server#listen loads node:cluster, with child_process and dgram, and
 * runs its path for the first time; Node 24), so a caller about to probe while holding a lock
 * does this first, before taking it.
 */
export async function warmUpBindTest(): Promise<void> {
  await tryBind(0, undefined);
}
