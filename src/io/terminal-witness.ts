/**
 * Was a signal sent to the whole foreground process group (Ctrl-C, Ctrl-\, Ctrl-Z typed on the
 * terminal, or `kill -INT -PGID`), or to ports alone? Node cannot tell who sent a signal, so a
 * witness process sits in ports's process group and is asked.
 *
 * Linux: the witness is a shell that catches the terminal signals and keeps itself stopped. A
 * signal sent to a stopped process that catches it stays pending, and the kernel marks it in
 * `/proc/PID/status` (ShdPnd) while it sends the group signal, before ports's own handler can
 * run: the answer is read at once, with no timing involved. SIGCONT then lets the witness take
 * what was pending, and it stops itself again.
 *
 * Elsewhere (no /proc): the witness echoes each signal it traps on a pipe, and ports waits a
 * short while for its word.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { processState } from './process-info';

export interface TerminalWitness {
  /** Whether `signal`, just received by ports, went to the whole process group. */
  sawGroupSignal(signal: NodeJS.Signals): Promise<boolean>;
  stop(): void;
}

/** How long to wait for the echoing witness's word (not on Linux): also how late a `kill -INT` sent to ports alone reaches CMD there. */
const ECHO_WAIT_MS = 500;
/** How long a witness may take to get ready (stopped, or its traps set) before ports goes on without waiting. */
const STOP_WAIT_MS = 2_000;

function quietChild(child: ChildProcess): void {
  child.on('error', () => undefined);
  child.unref();
  for (const stream of [child.stdin, child.stdout]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
}

function traps(signals: readonly NodeJS.Signals[], action: (signal: NodeJS.Signals) => string): string {
  return signals.map((s) => `trap '${action(s)}' ${s.slice(3)};`).join(' ');
}

/** The signals pending on the whole process `pid` (ShdPnd) and on its thread (SigPnd), as a bit mask. */
function pendingSignals(pid: number): bigint {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1] ?? '0'}`);
    return field('ShdPnd') | field('SigPnd');
  } catch {
    return 0n;
  }
}

async function stoppedWitness(signals: readonly NodeJS.Signals[]): Promise<TerminalWitness | undefined> {
  // Ends when ports is gone: its process group is then orphaned, and the kernel sends SIGHUP.
  const witness = spawn('sh', ['-c', `${traps(signals, () => ':')} while :; do kill -STOP $$; done`], { stdio: 'ignore' });
  quietChild(witness);
  const pid = witness.pid;
  const deadline = Date.now() + STOP_WAIT_MS;
  while (pid !== undefined && processState(pid) !== 'T') {
    if (Date.now() > deadline || witness.exitCode !== null || witness.signalCode !== null) {
      witness.kill('SIGKILL');
      return undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (pid === undefined) return undefined;
  return {
    async sawGroupSignal(signal) {
      const bit = 1n << BigInt((os.constants.signals[signal] ?? 0) - 1);
      if ((pendingSignals(pid) & bit) === 0n) return false;
      witness.kill('SIGCONT');
      return true;
    },
    stop() {
      witness.kill('SIGKILL');
    },
  };
}

async function echoingWitness(signals: readonly NodeJS.Signals[]): Promise<TerminalWitness> {
  // `read` returns when a trap runs; end only at EOF, that is when ports has gone. `ready` once the traps are set.
  const witness = spawn('sh', ['-c', `${traps(signals, (s) => `echo ${s}; t=1`)} echo ready; while :; do t=; read -r _ || [ -n "$t" ] || exit 0; done`], { stdio: ['pipe', 'pipe', 'ignore'] });
  quietChild(witness);
  const heard = new Map<NodeJS.Signals, number>();
  const listeners = new Set<(signal: NodeJS.Signals) => void>();
  let ready: () => void = () => undefined;
  // The timer (not unref'd) also keeps ports running while it waits: the witness's pipes are unref'd.
  const readyOrNot = new Promise<void>((resolve) => {
    const timer = setTimeout(() => ready(), STOP_WAIT_MS);
    ready = () => {
      clearTimeout(timer);
      resolve();
    };
    witness.once('exit', () => ready());
  });
  witness.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) {
      if (line === 'ready') ready();
      const signal = signals.find((s) => s === line);
      if (!signal) continue;
      heard.set(signal, Date.now());
      listeners.forEach((listener) => listener(signal));
    }
  });
  await readyOrNot;
  return {
    sawGroupSignal(signal) {
      const seen = heard.get(signal);
      if (seen !== undefined && Date.now() - seen < ECHO_WAIT_MS * 4) {
        heard.delete(signal);
        return Promise.resolve(true);
      }
      return new Promise((resolve) => {
        const listener = (said: NodeJS.Signals) => {
          if (said !== signal) return;
          heard.delete(signal);
          finish(true);
        };
        const timer = setTimeout(() => finish(false), ECHO_WAIT_MS);
        const finish = (saw: boolean) => {
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(saw);
        };
        listeners.add(listener);
      });
    },
    stop() {
      witness.stdin!.end();
      witness.kill('SIGKILL');
    },
  };
}

/**
 * A witness for `signals` in ports's own process group, ready when it returns. `how` is for the
 * tests: where both work (Linux), each must give the same answers.
 */
export async function startTerminalWitness(signals: readonly NodeJS.Signals[], how: 'best' | 'echoing' = 'best'): Promise<TerminalWitness> {
  // process-info reads /proc where there is one (Linux): then the stopped witness can be asked.
  if (how === 'best' && processState(process.pid) !== null) {
    const witness = await stoppedWitness(signals);
    if (witness) return witness;
  }
  return echoingWitness(signals);
}
