/**
 * Who listens on a port (health level 2, `ports which`, conflict reports). Linux reads /proc
 * directly, so nothing depends on lsof or ss being installed; macOS asks lsof, Windows netstat.
 * A listener whose owner we may not inspect (another user's process when we are not root) is
 * still reported, with pid null: the port is busy even if we cannot say by whom.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { childProcess } from './child-process';
import { processStartTime } from './process-info';
import { compareText } from '../core/compare';

export interface Listener {
  port: number;
  address: string;
  family: 4 | 6;
  pid: number | null;
  command: string | null;
  cwd: string | null;
  startTime: string | null;
}

/** A listening socket before its owner is looked up. */
export interface RawListener {
  port: number;
  address: string;
  family: 4 | 6;
  pid: number | null;
  /** Linux only: the socket inode, matched against /proc/PID/fd links. */
  inode?: string;
  /** Where the platform tool already names the command (lsof, tasklist). */
  command?: string | null;
}

const TCP_LISTEN = '0A';

/** Every TCP listener, or only those on `ports` when given. */
export async function findListeners(ports?: Iterable<number>): Promise<Listener[]> {
  const wanted = ports === undefined ? null : new Set(ports);
  if (wanted !== null && wanted.size === 0) return [];
  const raw = await listRawListeners();
  const selected = wanted === null ? raw : raw.filter((l) => wanted.has(l.port));
  if (process.platform === 'linux') resolveInodeOwners(selected);
  return selected.map(toListener).sort((a, b) => a.port - b.port || a.family - b.family || compareText(a.address, b.address));
}

function toListener(raw: RawListener): Listener {
  const described = raw.pid === null ? { command: null, cwd: null } : describeProcess(raw.pid);
  return {
    port: raw.port,
    address: raw.address,
    family: raw.family,
    pid: raw.pid,
    command: described.command ?? raw.command ?? null,
    cwd: described.cwd,
    startTime: raw.pid === null ? null : processStartTime(raw.pid),
  };
}

async function listRawListeners(): Promise<RawListener[]> {
  if (process.platform === 'linux') {
    const [v4, v6] = await Promise.all([readOptional('/proc/net/tcp'), readOptional('/proc/net/tcp6')]);
    return [...parseProcNetTcp(v4, 4), ...parseProcNetTcp(v6, 6)];
  }
  if (process.platform === 'win32') {
    const [v4, v6, tasks] = await Promise.all([
      run('netstat', ['-ano', '-p', 'tcp']),
      run('netstat', ['-ano', '-p', 'tcpv6']),
      run('tasklist', ['/FO', 'CSV', '/NH']),
    ]);
    const names = parseTasklistCsv(tasks);
    return [...parseNetstat(v4), ...parseNetstat(v6)].map((l) => ({ ...l, command: l.pid === null ? null : names.get(l.pid) ?? null }));
  }
  // macOS and the BSDs. `t` (IPv4/IPv6) is asked for too: a wildcard `*:port` does not say its family.
  return parseLsof(await run('lsof', ['-nP', '-iTCP', '-sTCP:LISTEN', '-F', 'pcnt']));
}

async function readOptional(file: string): Promise<string> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch {
    return '';
  }
}

/** stdout of a tool, or '' when it is missing or fails (lsof exits 1 when nothing listens). */
function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    childProcess().execFile(command, args, { encoding: 'utf8', timeout: 10000, maxBuffer: 16 * 1024 * 1024, windowsHide: true }, (_error, stdout) =>
      resolve(typeof stdout === 'string' ? stdout : ''),
    );
  });
}

/** Rows of /proc/net/tcp{,6} in state LISTEN. */
export function parseProcNetTcp(text: string, family: 4 | 6, endianness: 'LE' | 'BE' = os.endianness()): RawListener[] {
  const listeners: RawListener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || fields[3] !== TCP_LISTEN) continue;
    const [hexAddress, hexPort] = (fields[1] ?? '').split(':');
    if (!hexAddress || !hexPort) continue;
    listeners.push({
      port: parseInt(hexPort, 16),
      address: family === 4 ? decodeIpv4(hexAddress, endianness) : decodeIpv6(hexAddress, endianness),
      family,
      pid: null,
      inode: fields[9],
    });
  }
  return listeners;
}

/** The kernel prints each 32-bit word of the address in host byte order. */
function wordBytes(hexWord: string, endianness: 'LE' | 'BE'): number[] {
  const bytes = [0, 2, 4, 6].map((i) => parseInt(hexWord.slice(i, i + 2), 16));
  return endianness === 'LE' ? bytes.reverse() : bytes;
}

function decodeIpv4(hex: string, endianness: 'LE' | 'BE'): string {
  return wordBytes(hex, endianness).join('.');
}

function decodeIpv6(hex: string, endianness: 'LE' | 'BE'): string {
  const bytes: number[] = [];
  for (let i = 0; i < 32; i += 8) bytes.push(...wordBytes(hex.slice(i, i + 8), endianness));
  return formatIpv6(bytes);
}

/** RFC 5952 text form: lower case, longest run of zero groups as `::`, IPv4-mapped as ::ffff:a.b.c.d. */
export function formatIpv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${bytes.slice(12).join('.')}`;
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * Fills in the PID of each listener by finding which process holds its socket inode
 * (`/proc/PID/fd/N -> socket:[inode]`). Stops as soon as every inode is found: on a busy machine
 * reading every fd of every process is the expensive part. Processes we may not inspect are
 * skipped, which leaves their listeners with pid null.
 */
function resolveInodeOwners(listeners: RawListener[]): void {
  const byInode = new Map<string, RawListener[]>();
  for (const listener of listeners) {
    if (!listener.inode || listener.inode === '0') continue;
    const group = byInode.get(listener.inode) ?? [];
    group.push(listener);
    byInode.set(listener.inode, group);
  }
  if (byInode.size === 0) return;
  let pids: number[];
  try {
    pids = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number).sort((a, b) => a - b);
  } catch {
    return;
  }
  // Our own process first: a test or a caller asking about its own sockets is answered at once.
  pids = [process.pid, ...pids.filter((pid) => pid !== process.pid)];
  let remaining = byInode.size;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or another user's process
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!target.startsWith('socket:[')) continue;
      const group = byInode.get(target.slice(8, -1));
      // A socket inherited by a child stays with the first (lowest) PID, normally the parent that bound it.
      if (!group || group[0]?.pid !== null) continue;
      for (const listener of group) listener.pid = pid;
      if (--remaining === 0) return;
    }
  }
}

/** `lsof -F pcnt` output: `p<pid>` starts a process, `c<command>`, then per file `f…`, `t<IPv4|IPv6>`, `n<addr:port>`. */
export function parseLsof(text: string): RawListener[] {
  const listeners: RawListener[] = [];
  let pid: number | null = null;
  let command: string | null = null;
  let type: string | null = null;
  for (const line of text.split('\n')) {
    const tag = line[0];
    const value = line.slice(1).trim();
    if (tag === 'p') [pid, command, type] = [Number(value) || null, null, null];
    else if (tag === 'c') command = value;
    else if (tag === 'f') type = null;
    else if (tag === 't') type = value;
    else if (tag === 'n') {
      const endpoint = parseEndpoint(value.split('->')[0] ?? '');
      if (!endpoint) continue;
      const family: 4 | 6 = type === 'IPv6' || endpoint.address.includes(':') ? 6 : 4;
      const address = endpoint.address === '*' ? (family === 6 ? '::' : '0.0.0.0') : endpoint.address;
      listeners.push({ port: endpoint.port, address, family, pid, command });
    }
  }
  return dedupe(listeners);
}

/**
 * `netstat -ano -p tcp` rows: `TCP  0.0.0.0:135  0.0.0.0:0  LISTENING  1234`. The state word is
 * translated on localised Windows, so a listener is recognised by its remote end `*:0` instead.
 */
export function parseNetstat(text: string): RawListener[] {
  const listeners: RawListener[] = [];
  for (const line of text.split(/\r?\n/)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5 || fields[0]?.toUpperCase() !== 'TCP') continue;
    const local = parseEndpoint(fields[1] ?? '');
    const remote = parseEndpoint(fields[2] ?? '');
    if (!local || !remote || remote.port !== 0) continue;
    const pid = Number(fields[fields.length - 1]);
    const address = local.address.replace(/%.*$/, '');
    listeners.push({ port: local.port, address, family: address.includes(':') ? 6 : 4, pid: Number.isInteger(pid) && pid > 0 ? pid : null });
  }
  return dedupe(listeners);
}

/** `tasklist /FO CSV /NH` → PID → image name. */
export function parseTasklistCsv(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split(/\r?\n/)) {
    const cells = line.match(/"([^"]*)"/g)?.map((cell) => cell.slice(1, -1));
    const pid = Number(cells?.[1]);
    if (cells?.[0] && Number.isInteger(pid)) names.set(pid, cells[0]);
  }
  return names;
}

/** `127.0.0.1:80`, `[::1]:80`, `*:80`, `[fe80::1%4]:80` → address and port. */
function parseEndpoint(text: string): { address: string; port: number } | null {
  const match = /^\[?(.*?)\]?:(\d+|\*)$/.exec(text.trim());
  if (!match || match[2] === '*') return match ? { address: match[1] ?? '', port: 0 } : null;
  return { address: match[1] ?? '', port: Number(match[2]) };
}

/** lsof lists a socket once per process that holds it (parent and forked children). */
function dedupe(listeners: RawListener[]): RawListener[] {
  const seen = new Set<string>();
  return listeners.filter((l) => {
    const key = `${l.family}|${l.address}|${l.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The command line and working directory of a process; nulls for what we may not read. */
export function describeProcess(pid: number): { command: string | null; cwd: string | null } {
  if (process.platform === 'linux') return describeFromProc(pid);
  if (process.platform === 'win32') return { command: null, cwd: null };
  return describeWithPs(pid);
}

function describeFromProc(pid: number): { command: string | null; cwd: string | null } {
  let command: string | null = null;
  try {
    command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ').trim() || null;
    // Kernel threads and zombies have an empty cmdline; their short name is still useful.
    command ??= fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() || null;
  } catch {
    // gone, or hidden from us
  }
  let cwd: string | null = null;
  try {
    cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    // another user's process: its cwd is not ours to read
  }
  return { command, cwd };
}

function describeWithPs(pid: number): { command: string | null; cwd: string | null } {
  const quiet = { encoding: 'utf8' as const, timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'] };
  let command: string | null = null;
  let cwd: string | null = null;
  try {
    command = childProcess().execFileSync('ps', ['-o', 'command=', '-p', String(pid)], quiet).trim() || null;
  } catch {
    // no such process
  }
  try {
    const out = childProcess().execFileSync('lsof', ['-a', '-p', String(pid), '-d', 'cwd', '-Fn'], quiet);
    cwd = out.split('\n').find((line) => line.startsWith('n'))?.slice(1) ?? null;
  } catch {
    // lsof missing or not permitted
  }
  return { command, cwd };
}
