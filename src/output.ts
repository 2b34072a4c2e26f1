/**
 * stdout carries results (one JSON document with --json); stderr carries messages. Colour only
 * when the stream is a TTY, never with NO_COLOR or --no-color.
 */
const STYLES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const;

export interface Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly color: boolean;
  /** A result line on stdout. */
  result(line: string): void;
  /** The one JSON document of a `--json` run, on stdout. */
  data(value: unknown): void;
  /** A message on stderr (suppressed by --quiet). */
  info(message: string): void;
  /** A warning on stderr (never suppressed). */
  warn(message: string): void;
  /** Detail on stderr, only with --verbose. */
  debug(message: string): void;
  /** A transient progress line on stderr, only when stderr is a TTY. */
  progress(message: string | null): void;
  /** Wraps text in an ANSI style when colour is on. */
  style(kind: 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan', text: string): string;
}

export interface Streams {
  stdout: { write(chunk: string): unknown; isTTY?: boolean };
  stderr: { write(chunk: string): unknown; isTTY?: boolean };
}

export function createOutput(
  streams: Streams,
  options: { json: boolean; quiet: boolean; verbose: boolean; color: boolean },
): Output {
  let progressShown = false;
  const clearProgress = () => {
    if (progressShown) {
      streams.stderr.write('\r\u001b[2K');
      progressShown = false;
    }
  };
  const style: Output['style'] = (kind, text) => {
    if (!options.color) return text;
    const [open, close] = STYLES[kind];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  };
  return {
    json: options.json,
    quiet: options.quiet,
    verbose: options.verbose,
    color: options.color,
    result(line) {
      streams.stdout.write(line + '\n');
    },
    data(value) {
      streams.stdout.write(JSON.stringify(value, null, 2) + '\n');
    },
    info(message) {
      if (options.quiet) return;
      clearProgress();
      streams.stderr.write(message + '\n');
    },
    warn(message) {
      clearProgress();
      streams.stderr.write(`${style('yellow', 'ports: warning:')} ${message}\n`);
    },
    debug(message) {
      if (!options.verbose) return;
      clearProgress();
      streams.stderr.write(`${style('dim', `ports: ${message}`)}\n`);
    },
    progress(message) {
      if (!streams.stderr.isTTY || options.quiet || options.json) return;
      if (message === null) return clearProgress();
      streams.stderr.write(`\r\u001b[2K${message}`);
      progressShown = true;
    },
    style,
  };
}

/** Colour is on when stderr/stdout is a TTY, NO_COLOR is unset and TERM is not dumb (FORCE_COLOR forces it). */
export function colorWanted(env: NodeJS.ProcessEnv, isTTY: boolean, flag: boolean | undefined): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return isTTY && env.TERM !== 'dumb';
}

/** Left-aligned text table; the last column is not padded. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
