/**
 * SHA-256 of a short text as lower-case hex, for the rare COMPOSE_PROJECT_NAME suffix and the
 * identity of a lock file written without a token. node:crypto gives the same digits as the
 * hand-written version this replaced, so project names stay the same. It is loaded on the first
 * hash: loading it costs ~8-12 ms of CPU (Node 20/24, measured with this repo's A/B runs), and
 * most runs hash nothing.
 */
import type * as Crypto from 'node:crypto';

let crypto: typeof Crypto | undefined;

export function sha256Hex(text: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  crypto ??= require('node:crypto') as typeof Crypto;
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}
