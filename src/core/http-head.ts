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
  kept.push(`X-Forwarded-For: ${[...priorFor, clientAddress].join(', ')}`, `X-Forwarded-Host: ${host ?? ''}`, 'X-Forwarded-Proto: http');
  return { host, framing, forwarded: `${kept.join('\r\n')}\r\n\r\n` };
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
