/**
 * The machine index read by an allocation: the other registries' ports, their holders, and
 * which entries are pruned (only a registry that is gone, and only when asked) or skipped.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { entryFileFor, pathKey, portsHeldElsewhere, readRegistryRecords, registerRegistry } from '../../src/io/machine-index';

let dir: string;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ports-index-')));
  env = { PORTS_STATE_DIR: path.join(dir, 'state') };
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function registryAt(name: string, allocations: unknown[]): string {
  const file = path.join(dir, name, 'ports.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ ranges: {}, allocations, metadata: {} }));
  registerRegistry(env, { registry: file, repo: path.dirname(file), name });
  return file;
}

test('the ports of every other registry are held, with their holder; the own registry is left out', () => {
  const own = registryAt('own', [{ port: 21000, worktree: 'mine', service: 'web' }]);
  const other = registryAt('other', [
    { port: 21001, worktree: 'theirs', service: 'web', repo: '/elsewhere/shared-user' },
    { port: 21002, worktree: 'plain', service: 'api' },
    { port: 'not a port' },
    { port: 70000 },
  ]);
  const view = portsHeldElsewhere(env, own);
  expect([...view.held.keys()].sort()).toEqual([21001, 21002]);
  expect(view.held.get(21001)).toEqual({ registry: other, repo: '/elsewhere/shared-user', worktree: 'theirs', service: 'web' });
  expect(view.held.get(21002)).toEqual({ registry: other, repo: path.dirname(other), worktree: 'plain', service: 'api' });
});

test('a registry that is gone is pruned only when asked; one that cannot be read is skipped and kept', () => {
  const gone = registryAt('gone', [{ port: 21010 }]);
  const corrupt = registryAt('corrupt', [{ port: 21011 }]);
  const folder = registryAt('folder', [{ port: 21012 }]);
  fs.rmSync(path.dirname(gone), { recursive: true });
  fs.writeFileSync(corrupt, '{"allocations": [');
  fs.rmSync(folder);
  fs.mkdirSync(folder);

  const read = portsHeldElsewhere(env, null);
  expect(read.held.size).toBe(0);
  expect(read.gone).toEqual([gone]);
  expect(read.unreadable.map((u) => u.registry).sort()).toEqual([corrupt, folder].sort());
  expect(fs.existsSync(entryFileFor(env, gone))).toBe(true);

  portsHeldElsewhere(env, null, { prune: true });
  expect(fs.existsSync(entryFileFor(env, gone))).toBe(false);
  expect(fs.existsSync(entryFileFor(env, corrupt))).toBe(true);
  expect(fs.existsSync(entryFileFor(env, folder))).toBe(true);
});

test('readRegistryRecords tells gone from unreadable', () => {
  expect(readRegistryRecords(path.join(dir, 'nothing', 'ports.json'))).toEqual({ state: 'gone' });
  const file = path.join(dir, 'not-a-folder');
  fs.writeFileSync(file, 'x');
  expect(readRegistryRecords(path.join(file, 'ports.json'))).toEqual({ state: 'gone' });
  fs.writeFileSync(path.join(dir, 'list.json'), '[]');
  expect(readRegistryRecords(path.join(dir, 'list.json')).state).toBe('unreadable');
  fs.writeFileSync(path.join(dir, 'bom.json'), '\uFEFF{"allocations":[{"port":21020,"extra":true}]}');
  expect(readRegistryRecords(path.join(dir, 'bom.json'))).toEqual({ state: 'ok', records: [{ port: 21020, extra: true }] });
});

describe('pathKey: the entry file name of a registry', () => {
  /** 64-bit FNV-1a written the obvious way, with BigInt. */
  function reference(text: string): string {
    let h = 0xcbf29ce484222325n;
    for (let i = 0; i < text.length; i++) h = ((h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n) & 0xffffffffffffffffn;
    return h.toString(16).padStart(16, '0');
  }

  test.each([
    ['', 'cbf29ce484222325'],
    ['a', 'af63dc4c8601ec8c'],
    ['foobar', '85944171f73967e8'],
  ])('matches the published FNV-1a 64 value of %j', (text, expected) => {
    expect(pathKey(text)).toBe(expected);
  });

  test('matches the reference on 500 seeded random texts, non-ASCII included', () => {
    let seed = 42;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let n = 0; n < 500; n++) {
      let text = '';
      for (let i = next() % 120; i > 0; i--) text += String.fromCharCode(next() % 0x10000);
      expect(pathKey(text)).toBe(reference(text));
    }
  });
});
