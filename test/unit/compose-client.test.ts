import { parseComposeVersion, readsOverrideTag } from '../../src/io/docker';

describe('parseComposeVersion', () => {
  it.each<[string, [number, number, number] | null]>([
    ['Docker Compose version v2.24.5\n', [2, 24, 5]],
    ['Docker Compose version 2.27.0-desktop.2', [2, 27, 0]],
    ['2.29.1\n', [2, 29, 1]],
    ['docker-compose version 1.29.2, build unknown\ndocker-py version: 5.0.3\nCPython version: 3.11.2\n', [1, 29, 2]],
    ["docker: 'compose' is not a docker command.", null],
    ['', null],
  ])('%j → %j', (stdout, version) => expect(parseComposeVersion(stdout)).toEqual(version));
});

describe('readsOverrideTag (the `!override` tag came with Compose 2.24.0)', () => {
  it.each<[string, [number, number, number], boolean]>([
    ['docker-compose', [1, 29, 2], false],
    ['docker compose', [2, 23, 3], false],
    ['docker compose', [2, 24, 0], true],
    ['docker compose', [2, 30, 1], true],
    ['docker compose', [3, 0, 0], true],
  ])('%s %j → %s', (command, version, reads) => expect(readsOverrideTag({ command: command as 'docker compose' | 'docker-compose', version })).toBe(reads));
});
