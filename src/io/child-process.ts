/**
 * node:child_process, loaded on first use. Most runs spawn nothing (the repository is read from
 * the .git files, ports are probed in-process), and loading it with the modules it pulls in
 * (dgram, socket lists) costs about 1 ms of every run.
 */
import type * as ChildProcess from 'node:child_process';

let loaded: typeof ChildProcess | undefined;

export function childProcess(): typeof ChildProcess {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require('node:child_process') as typeof ChildProcess);
}
