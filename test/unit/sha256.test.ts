import * as crypto from 'node:crypto';
import { sha256Hex } from '../../src/core/sha256';

const nodeSha256 = (text: string): string => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

describe('sha256Hex', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ])('gives the published test vector for %j', (input, digest) => {
    expect(sha256Hex(input)).toBe(digest);
  });

  it('gives the published digest of a million "a"s (many blocks)', () => {
    expect(sha256Hex('a'.repeat(1_000_000))).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('agrees with node:crypto on every length around the padding boundaries', () => {
    for (let length = 0; length <= 200; length++) {
      const text = Array.from({ length }, (_, i) => String.fromCharCode(32 + ((i * 7 + length) % 95))).join('');
      expect(sha256Hex(text)).toBe(nodeSha256(text));
    }
  });

  it('hashes the UTF-8 bytes of text outside ASCII, as node:crypto does', () => {
    for (const text of ['日本', 'ñandú/wt', '/home/zoë/repo', '😀 emoji', '\u0000nul', 'a\u00e9\u4e2d\ud83d\ude00'.repeat(30)]) {
      expect(sha256Hex(text)).toBe(nodeSha256(text));
    }
  });
});
