import { spawnSync } from 'node:child_process';
import { portsBin, privateRanges, removeTempDirs, runPorts } from '../helpers/cli';
import { makeConfigRepo as makeRepo } from '../helpers/repo';

afterAll(removeTempDirs);

// The built CLI writes to its file descriptors directly and tells a terminal from a pipe or
// /dev/null itself (src/main.ts): colour on a terminal, none elsewhere.
const script = spawnSync('script', ['--version'], { encoding: 'utf8' });
const haveScript = script.status === 0;
if (!haveScript) console.log('terminal-output tests skipped: script(1) from util-linux is not installed, so no pseudo-terminal can be made');
const onTerminal = haveScript ? it : it.skip;

describe('colour of the built CLI', () => {
  const repo = makeRepo({ ranges: privateRanges(23700), services: { web: true } });
  const env = { ...repo.env, NO_COLOR: undefined, TERM: 'xterm' };
  beforeAll(() => expect(runPorts(['allocate', '--quiet'], { cwd: repo.root, env: repo.env }).code).toBe(0));

  onTerminal('is on when stdout is a terminal', () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(portsBin())} status`;
    const run = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: repo.root, env, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('\u001b[1mWorktree');
  });

  it('is off when stdout is a pipe', () => {
    const run = runPorts(['status'], { cwd: repo.root, env });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Worktree /);
    expect(run.stdout).not.toContain('\u001b[');
  });

  it('runs with stdout on /dev/null, a character device that is no terminal', () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(portsBin())} status --verbose > /dev/null`;
    const run = spawnSync('sh', ['-c', command], { cwd: repo.root, env, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/registry: /);
  });
});
