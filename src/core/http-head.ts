/**
 * Just enough HTTP/1.1 for the proxy's fast path (ops/proxy-tunnel): read one request head, say
 * where its body ends, and set X-Forwarded-* on it. Anything this does not pass on as plainly
 * valid (a folded header, two Hosts, both Content-Length and Transfer-Encoding, CONNECT, …) is
 * `null`, and the caller leaves the connection to Node's full HTTP parser.
 */

/** Where the request's body ends: no body, a byte count, chunked, or the connection turns into another protocol. */
export type Framing = { kind: 'none' } | { kind: 'length'; bytes: number } | { kind: 'chunked' } | { kind: 'upgrade' };

export interface RequestHead {
  /** The Host header as sent. */
  host: string | undefined;
  framing: Framing;
  /** The head to send on (latin1), with X-Forwarded-For/-Host/-Proto set like the full proxy sets them. */
  forwarded: string;
}

/** The longest request head the fast path reads (Node's own limit is 16 KiB by default). */
export const MAX_HEAD_BYTES = 64 * 1024;

const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) [^\s]+ HTTP\/1\.[01]$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** One request head, from its first byte through the blank line (`\r\n\r\n`), as latin1 text. */
export function parseRequestHead(head: string, clientAddress: string): RequestHead | null {
  const lines = head.slice(0, -4).split('\r\n');
  const method = REQUEST_LINE.exec(lines[0] ?? '')?.[1];
  if (method === undefined || method === 'CONNECT') return null;
  const kept = [lines[0] as string];
  const priorFor: string[] = [];
  let host: string | undefined;
  let length: string | undefined;
  let transfer: string | undefined;
  let upgrade = false;
  let connectionUpgrade = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    if (colon <= 0 || !TOKEN.test(name) || line.includes('\n') || line.includes('\r')) return null;
    const value = line.slice(colon + 1).trim();
    switch (name.toLowerCase()) {
      case 'host':
        if (host !== undefined) return null;
        host = value;
        break;
      case 'content-length':
        if (length !== undefined || !/^\d{1,15}$/.test(value)) return null;
        length = value;
        break;
      case 'transfer-encoding':
        if (transfer !== undefined) return null;
        transfer = value.toLowerCase();
        break;
      case 'upgrade':
        upgrade = true;
        break;
      case 'connection':
        if (value.toLowerCase().split(/\s*,\s*/).includes('upgrade')) connectionUpgrade = true;
        break;
      case 'x-forwarded-for':
        priorFor.push(value);
        continue;
      case 'x-forwarded-host':
      case 'x-forwarded-proto':
        continue;
    }
    kept.push(line);
  }
  let framing: Framing;
  if (transfer !== undefined) {
    // A request body's last coding must be chunked, and never with a Content-Length (RFC 9112 §6.3).
    if (length !== undefined || !/(^|,)\s*chunked$/.test(transfer)) return null;
    framing = { kind: 'chunked' };
  } else if (length !== undefined && Number(length) > 0) framing = { kind: 'length', bytes: Number(length) };
  else framing = { kind: 'none' };
  if (upgrade && connectionUpgrade) {
    if (framing.kind !== 'none') return null;
    framing = { kind: 'upgrade' };
  }
  return { host, framing, forwarded: `${kept.join('\r\n')}\r\n${forwardedLines(priorFor, clientAddress, host)}` };
}

/** What ends every forwarded head: X-Forwarded-For/-Host/-Proto and the blank line. */
export function forwardedLines(priorFor: readonly string[], clientAddress: string, host: string | undefined): string {
  return `X-Forwarded-For: ${[...priorFor, clientAddress].join(', ')}\r\nX-Forwarded-Host: ${host ?? ''}\r\nX-Forwarded-Proto: http\r\n\r\n`;
}

/** What `scanPlainHead` reads from a plain head. */
export interface PlainHead {
  host: string | undefined;
  framing: { kind: 'none' } | { kind: 'length'; bytes: number };
}

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
/** 1 for the bytes of a header name or a method (RFC 9110 token), by byte value. */
const TOKEN_BYTE = new Uint8Array(256).map((_, byte) => Number(TOKEN.test(String.fromCharCode(byte))));
const VERSION = Buffer.from(' HTTP/1.', 'latin1');

/** Is `bytes[start, end)` the lower-case ASCII `name`, in any case? */
function nameIs(bytes: Buffer, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (((bytes[start + i] as number) | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

/** Does `bytes[start, end)` hold the lower-case ASCII `word`, in any case? */
function holds(bytes: Buffer, start: number, end: number, word: string): boolean {
  for (let at = start; at + word.length <= end; at++) if (nameIs(bytes, at, at + word.length, word)) return true;
  return false;
}

/** The end of the CRLF-terminated line starting at `from` (its CR), or -1 when a byte is not printable ASCII or a tab. */
function plainLineEnd(bytes: Buffer, from: number): number {
  for (let i = from; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte === CR) return bytes[i + 1] === LF ? i : -1;
    if ((byte < SPACE && byte !== TAB) || byte >= 0x7f) return -1;
  }
  return -1;
}

/**
 * The usual request head, read from its bytes without a string per line: a kept-alive connection
 * sends one per request, and reading each as text cost the proxy more than passing it on
 * (docs/design.md, "The proxy"). `end` is just past the head's blank line.
 *
 * It reads only plain heads: printable ASCII and tabs in CRLF lines, a request line and header
 * names parseRequestHead accepts, at most one Host and one all-digit Content-Length, and no
 * Transfer-Encoding, Upgrade or X-Forwarded-For/-Host/-Proto header and no "upgrade" in
 * Connection. For those, parseRequestHead returns this host and framing, with `forwarded` the
 * head minus its last CRLF followed by `forwardedLines([], client, host)`; the unit tests hold
 * the two to it. Anything else is `undefined`, and parseRequestHead decides.
 */
export function scanPlainHead(bytes: Buffer, end: number): PlainHead | undefined {
  // The request line: METHOD SP TARGET SP HTTP/1.0 or 1.1
  let method = 0;
  while (TOKEN_BYTE[bytes[method] as number]) method++;
  if (method === 0 || bytes[method] !== SPACE || nameIs(bytes, 0, method, 'connect')) return undefined;
  const lineEnd = plainLineEnd(bytes, method + 1);
  const version = lineEnd - VERSION.length - 1;
  if (lineEnd === -1 || version <= method + 1 || !VERSION.equals(bytes.subarray(version, version + VERSION.length))) return undefined;
  const minor = bytes[lineEnd - 1];
  if (minor !== 0x30 && minor !== 0x31) return undefined;
  for (let i = method + 1; i < version; i++) if (bytes[i] === SPACE || bytes[i] === TAB) return undefined;
  // The header lines, up to the blank line.
  let host: string | undefined;
  let length = -1;
  for (let at = lineEnd + 2; at < end - 2; ) {
    const stop = plainLineEnd(bytes, at);
    if (stop === -1) return undefined;
    let colon = at;
    while (colon < stop && TOKEN_BYTE[bytes[colon] as number]) colon++;
    if (colon === at || bytes[colon] !== COLON) return undefined;
    let from = colon + 1;
    let to = stop;
    while (from < to && (bytes[from] === SPACE || bytes[from] === TAB)) from++;
    while (to > from && (bytes[to - 1] === SPACE || bytes[to - 1] === TAB)) to--;
    if (nameIs(bytes, at, colon, 'host')) {
      if (host !== undefined) return undefined;
      host = bytes.toString('latin1', from, to);
    } else if (nameIs(bytes, at, colon, 'content-length')) {
      if (length !== -1 || to === from || to - from > 15) return undefined;
      length = 0;
      for (let i = from; i < to; i++) {
        const digit = (bytes[i] as number) - 0x30;
        if (digit < 0 || digit > 9) return undefined;
        length = length * 10 + digit;
      }
    } else if (
      nameIs(bytes, at, colon, 'transfer-encoding') ||
      nameIs(bytes, at, colon, 'upgrade') ||
      nameIs(bytes, at, colon, 'x-forwarded-for') ||
      nameIs(bytes, at, colon, 'x-forwarded-host') ||
      nameIs(bytes, at, colon, 'x-forwarded-proto') ||
      (nameIs(bytes, at, colon, 'connection') && holds(bytes, from, to, 'upgrade'))
    )
      return undefined;
    at = stop + 2;
  }
  return { host, framing: length > 0 ? { kind: 'length', bytes: length } : { kind: 'none' } };
}

const enum Chunked {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  EndLf,
}

/** Follows a chunked body through the bytes that carry it, without changing them. */
export class ChunkedBody {
  private state = Chunked.Size;
  private size = 0;
  private digits = 0;

  /** Reads from `bytes[from]` on; the index just past the body's end, `-1` when it needs more bytes, `-2` when it is not valid chunked framing. */
  scan(bytes: Uint8Array, from: number): number {
    let i = from;
    while (i < bytes.length) {
      const byte = bytes[i] as number;
      switch (this.state) {
        case Chunked.Size: {
          const digit = hexValue(byte);
          if (digit >= 0) {
            if (++this.digits > 12) return -2;
            this.size = this.size * 16 + digit;
          } else if (this.digits === 0) return -2;
          else if (byte === 0x3b /* ; */ || byte === 0x20 || byte === 0x09) this.state = Chunked.Extension;
          else if (byte === 0x0d) this.state = Chunked.SizeLf;
          else return -2;
          break;
        }
        case Chunked.Extension:
          if (byte === 0x0d) this.state = Chunked.SizeLf;
          else if (byte === 0x0a) return -2;
          break;
        case Chunked.SizeLf:
          if (byte !== 0x0a) return -2;
          this.digits = 0;
          this.state = this.size === 0 ? Chunked.TrailerStart : Chunked.Data;
          break;
        case Chunked.Data: {
          const take = Math.min(this.size, bytes.length - i);
          this.size -= take;
          i += take;
          if (this.size === 0) this.state = Chunked.DataCr;
          continue;
        }
        case Chunked.DataCr:
          if (byte !== 0x0d) return -2;
          this.state = Chunked.DataLf;
          break;
        case Chunked.DataLf:
          if (byte !== 0x0a) return -2;
          this.state = Chunked.Size;
          break;
        case Chunked.TrailerStart:
          this.state = byte === 0x0d ? Chunked.EndLf : Chunked.Trailer;
          if (byte === 0x0a) return -2;
          break;
        case Chunked.Trailer:
          if (byte === 0x0a) this.state = Chunked.TrailerStart;
          break;
        case Chunked.EndLf:
          if (byte !== 0x0a) return -2;
          this.state = Chunked.Size;
          this.size = 0;
          return i + 1;
      }
      i++;
    }
    return -1;
  }
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}
