/**
 * `ports exec` behaves like the command it runs: every catchable signal reaches CMD, ports dies
 * of the signal that killed CMD, exit codes are CMD's, and on a terminal (a real pseudo-terminal
 * from util-linux `script`) a `kill -INT` sent to ports reaches CMD while a Ctrl-C typed on the
 * terminal reaches it exactly once.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT, cleanupTemps, makeRepo, portsBin, tempDir, testEnv, type Repo } from '../helpers/repo';

afterAll(() => cleanupTemps());

const CATCHABLE = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGWINCH', 'SIGVTALRM', 'SIGPROF'] as const;

let repo: Repo;
let reporter: string;
const started: ChildProcess[] = [];
beforeAll(() => {
  repo = makeRepo({ base: 25900 });
  reporter = path.join(tempDir('ports-exec-'), 'reporter.js');
  // Logs its parent's PID, then every signal it gets; `exit-on` names the signal that ends it
  // (after logging, with code 0), `die-on` one it does not catch.
  fs.writeFileSync(
    reporter,
    `const fs = require('fs');
const [log, mode, which] = process.argv.slice(2);
fs.appendFileSync(log, 'ppid ' + process.ppid + '\\n');
for (const s of ${JSON.stringify(CATCHABLE)}) {
  if (mode === 'die-on' && s === which) continue;
  process.on(s, () => { fs.appendFileSync(log, s + '\\n'); if (mode === 'exit-on' && s === which) setTimeout(() => process.exit(0), 300); });
}
fs.appendFileSync(log, 'ready\\n');
setInterval(() => {}, 1000);
`,
  );
});
afterAll(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

async function until(what: string, condition: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function logOf(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

function startExec(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [portsBin(), 'exec', '--', ...args], { cwd: repo.main, env: testEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout!.resume();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })));
  return { child, done };
}

test('every catchable signal sent to ports exec reaches the command, and ports stays up (USR1 opens no inspector)', async () => {
  const log = path.join(tempDir('ports-exec-'), 'signals.log');
  const { child, done } = startExec([process.execPath, reporter, log, 'exit-on', 'SIGTERM']);
  await until('the command to start', () => logOf(log).includes('ready'));
  for (const signal of CATCHABLE.filter((s) => s !== 'SIGTERM')) {
    child.kill(signal);
    await until(`${signal} to reach the command`, () => logOf(log).includes(signal));
    expect({ signal, portsAlive: child.exitCode === null && child.signalCode === null }).toEqual({ signal, portsAlive: true });
  }
  child.kill('SIGTERM');
  const result = await done;
  expect(result.stderr).not.toMatch(/Debugger listening/);
  expect(result).toMatchObject({ code: 0, signal: null });
  expect(logOf(log).filter((l) => l.startsWith('SIG'))).toEqual([...CATCHABLE.filter((s) => s !== 'SIGTERM'), 'SIGTERM']);
});

test.each(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'] as const)('when the command dies of %s, ports dies of the same signal', async (signal) => {
  const { done } = startExec(['sh', '-c', `kill -${signal.slice(3)} $$`]);
  const result = await done;
  expect(result).toMatchObject({ code: null, signal });
});

test('exit codes are the command\'s', async () => {
  expect(await startExec(['sh', '-c', 'exit 7']).done).toMatchObject({ code: 7, signal: null });
  expect(await startExec(['sh', '-c', 'exit 0']).done).toMatchObject({ code: 0, signal: null });
  expect(await startExec(['definitely-not-a-command-xyz']).done).toMatchObject({ code: 127 });
});

/**
 * `script` runs its command with `$SHELL -c`, so the shell is named here, never inherited (CI
 * has no SHELL). Each runs ports as a terminal user's shell does, in the terminal's foreground
 * process group: /bin/sh (dash on Debian) with job control (`set -m`) makes ports a job of its
 * own, as an interactive shell does; bash execs ports. Without job control dash would share the
 * group, die of the Ctrl-C itself and hand `script` its 130, whatever ports did.
 */
const SHELLS = ['/bin/sh', '/bin/bash'].filter((shell) => fs.existsSync(shell));

describe.each(SHELLS)('on a terminal, under %s', (shell) => {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  if (!hasScript) console.log('pseudo-terminal tests skipped: util-linux `script` is not installed');
  const onPty = hasScript ? test : test.skip;

  /**
   * `ports exec -- node reporter …` inside a pseudo-terminal, once the command is ready; the test
   * writes to the terminal through `script`'s stdin. Also: the exit code to come, ports's PID.
   */
  async function execOnPty(name: string, mode: string, which: string): Promise<{ log: string; script: ChildProcess; exited: Promise<number | null>; portsPid: number }> {
    const log = path.join(tempDir('ports-exec-'), name);
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, portsBin(), 'exec', '--', process.execPath, reporter, log, mode, which].map(quote).join(' ');
    const script = spawn('script', ['-qfec', `set -m; ${command}`, '/dev/null'], { cwd: repo.main, env: { ...testEnv(), SHELL: shell }, stdio: ['pipe', 'pipe', 'pipe'] });
    started.push(script);
    script.stdout!.resume();
    script.stderr!.resume();
    await until('the command to start on the terminal', () => logOf(log).includes('ready'));
    const exited = new Promise<number | null>((resolve) => script.once('close', (code) => resolve(code)));
    return { log, script, exited, portsPid: Number(logOf(log)[0]!.split(' ')[1]) };
  }

  onPty('a `kill -INT` sent to ports exec reaches the command, and both die', async () => {
    const { script, portsPid } = await execOnPty('pty-kill.log', 'die-on', 'SIGINT');
    const commandPid = childrenOf(portsPid).find((pid) => commandLine(pid).includes(reporter))!;
    expect(alive(portsPid)).toBe(true);
    expect(alive(commandPid)).toBe(true);
    process.kill(portsPid, 'SIGINT');
    await until('the command to die', () => !alive(commandPid));
    await until('ports to die', () => !alive(portsPid));
    script.stdin!.end();
  });

  onPty('a Ctrl-C typed on the terminal reaches the command exactly once', async () => {
    const { log, script, exited } = await execOnPty('pty-ctrl-c.log', 'exit-on', 'SIGINT');
    script.stdin!.write('\x03');
    expect(await exited).toBe(0);
    expect(logOf(log).filter((l) => l === 'SIGINT')).toEqual(['SIGINT']);
  });

  onPty('a Ctrl-C reaches the command exactly once even when the witness gets no CPU in time (a loaded machine)', async () => {
    const { log, script, exited, portsPid } = await execOnPty('pty-starved.log', 'exit-on', 'SIGINT');
    const witnesses = childrenOf(portsPid).filter((pid) => commandLine(pid).startsWith('sh'));
    expect(witnesses).toHaveLength(1);
    // The scheduler may leave the witness unrun for longer than any wait: here, forever.
    process.kill(witnesses[0]!, 'SIGSTOP');
    script.stdin!.write('\x03');
    expect(await exited).toBe(0);
    expect(logOf(log).filter((l) => l.startsWith('SIG'))).toEqual(['SIGINT']);
  });

  onPty('Ctrl-C, Ctrl-C, Ctrl-\\ typed one after another each reach the command once', async () => {
    const { log, script, exited } = await execOnPty('pty-three.log', 'exit-on', 'SIGQUIT');
    script.stdin!.write('\x03');
    await until('the first Ctrl-C', () => logOf(log).includes('SIGINT'));
    await new Promise((r) => setTimeout(r, 200));
    script.stdin!.write('\x03');
    await until('the second Ctrl-C', () => logOf(log).filter((l) => l === 'SIGINT').length === 2);
    await new Promise((r) => setTimeout(r, 200));
    script.stdin!.write('\x1c');
    expect(await exited).toBe(0);
    expect(logOf(log).filter((l) => l.startsWith('SIG'))).toEqual(['SIGINT', 'SIGINT', 'SIGQUIT']);
  });
});

function childrenOf(parent: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(parent);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

describe.each(['best', 'echoing'] as const)('the terminal witness (%s)', (how) => {
  // A process of its own group, as ports is under a shell: it asks the witness about each signal it gets.
  const asker = `const { startTerminalWitness } = require(${JSON.stringify(path.join(PACKAGE_ROOT, 'dist', 'io', 'terminal-witness.js'))});
startTerminalWitness(['SIGINT', 'SIGQUIT'], process.argv[1]).then((witness) => {
  for (const s of ['SIGINT', 'SIGQUIT']) process.on(s, () => setTimeout(() => witness.sawGroupSignal(s).then((saw) => console.log(s + ' ' + (saw ? 'group' : 'alone'))), 300));
  process.stdin.on('end', () => { witness.stop(); process.exit(0); }).resume();
  console.log('ready');
});`;

  test('says which signals went to the whole group and which to the process alone, again and again', async () => {
    const child = spawn(process.execPath, ['-e', asker, how], { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
    started.push(child);
    const lines: string[] = [];
    child.stdout!.setEncoding('utf8').on('data', (d: string) => lines.push(...d.trim().split('\n')));
    try {
      await until('the witness to be ready', () => lines.includes('ready'));
      const steps: Array<[NodeJS.Signals, 'group' | 'alone']> = [
        ['SIGINT', 'group'],
        ['SIGINT', 'alone'],
        ['SIGQUIT', 'group'],
        ['SIGINT', 'group'],
        ['SIGQUIT', 'alone'],
        ['SIGINT', 'group'],
      ];
      for (const [signal, to] of steps) {
        const before = lines.length;
        process.kill(to === 'group' ? -child.pid! : child.pid!, signal);
        await until(`the answer about ${signal} sent to the ${to}`, () => lines.length > before);
        expect(lines.slice(before)).toEqual([`${signal} ${to}`]);
      }
    } finally {
      child.stdin!.end();
      await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
    }
  });
});
