/**
 * The managed block of a worktree's env file: render, parse, and merge into the user's file.
 * Pure: text in, text out. Everything outside the block is kept byte for byte (BOM, CRLF, a
 * missing final newline, comments); the block itself uses the file's line ending.
 *
 *   # >>> ports (managed by `ports`; edits inside this block are overwritten) >>>
 *   PORT_WEB=8081
 *   COMPOSE_PROJECT_NAME=myrepo-feature-x
 *   # <<< ports <<<
 *
 * Names and values are restricted (ports and safe names only) so that nothing read from a
 * config or the registry can inject a line, a quote or a `$(…)` into a file that dotenv,
 * Docker Compose and shells read.
 */
import { ConflictError, UsageError } from '../errors';

export type EnvVars = ReadonlyArray<readonly [name: string, value: string]>;

export const BLOCK_BEGIN = '# >>> ports (managed by `ports`; edits inside this block are overwritten) >>>';
export const BLOCK_END = '# <<< ports <<<';
/** The begin line of a block put into a file the user created empty: releasing leaves the (empty) file. */
export const BLOCK_BEGIN_KEEP_FILE = '# >>> ports (managed by `ports`; edits inside this block are overwritten; the file stays when released) >>>';

export const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ENV_VAR_VALUE = /^[A-Za-z0-9_.:-]*$/;
/** A proxy URL (`urls: true`): `http://`, a host name, a port and `/` — still no space, quote, `$` or backtick. */
export const ENV_VAR_URL = /^http:\/\/[a-z0-9.-]+(?::\d{1,5})?\/$/;

// Recognised loosely, so a block written by another version of the tool (other wording
// between the markers) is still found and replaced rather than duplicated.
const BEGIN_LINE = /^# >>> ports\b.*>>>$/;
const END_LINE = /^# <<< ports <<<$/;
// A variable assignment as dotenv and Compose read it: `NAME=…`, `export NAME=…`, `NAME: …`.
const ASSIGNMENT = /^\s*(?:export\s+)?([\w.-]+)\s*(?:=|:\s)/;
const BOM = '\uFEFF';
// The same BOM when the file's bytes are read as latin1 (io/env-file does, to keep non-UTF-8 bytes).
const BOM_LATIN1 = '\u00EF\u00BB\u00BF';

export interface EnvBlockOptions {
  /** Names the file in error messages (`.env:4: …`). */
  fileName?: string;
}

export interface MergeResult {
  /** The new file content; null when there was no file and nothing to write. '' when nothing remains. */
  content: string | null;
  changed: boolean;
  /** Managed names that the user also sets outside the block: the caller must refuse. */
  duplicates: string[];
  /** content is '' and the file held nothing but a block the tool created it for: delete it (else keep it empty). */
  deletable: boolean;
}

export function validateEnvVars(vars: EnvVars): void {
  const seen = new Set<string>();
  for (const [name, value] of vars) {
    if (typeof name !== 'string' || !ENV_VAR_NAME.test(name)) {
      throw new UsageError(`Refusing to write the env variable name ${JSON.stringify(name)}: names must match [A-Za-z_][A-Za-z0-9_]*.`, 'Fix the `env` name of that service in your ports config.');
    }
    if (typeof value !== 'string' || !(ENV_VAR_VALUE.test(value) || ENV_VAR_URL.test(value))) {
      throw new UsageError(
        `Refusing to write ${name}=${JSON.stringify(value)}: values in the managed env block may hold only letters, digits and _ . : - (ports and names), or a proxy URL (http://NAME.localhost:PORT/).`,
        'This value came from the config or the registry; check them with `ports doctor`.',
      );
    }
    if (seen.has(name)) throw new UsageError(`The env variable ${name} is declared twice.`, 'Give each service its own `env` name in your ports config.');
    seen.add(name);
  }
}

/** The block, ending with a line ending. Throws UsageError on an unsafe name or value. */
export function renderEnvBlock(vars: EnvVars, eol: '\n' | '\r\n' = '\n', begin: string = BLOCK_BEGIN): string {
  validateEnvVars(vars);
  return [begin, ...vars.map(([name, value]) => `${name}=${value}`), BLOCK_END].map((line) => line + eol).join('');
}

interface Line {
  /** Offset of the line's first character in the (BOM-less) text. */
  start: number;
  /** Offset just past its line ending. */
  end: number;
  /** The line without its line ending. */
  text: string;
}

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    const end = nl === -1 ? text.length : nl + 1;
    let body = text.slice(start, nl === -1 ? text.length : nl);
    if (body.endsWith('\r')) body = body.slice(0, -1);
    lines.push({ start, end, text: body });
    start = end;
  }
  return lines;
}

interface Located {
  bom: string;
  text: string;
  lines: Line[];
  /** Indexes into lines of the block's first and last line, or null when there is no block. */
  block: { begin: number; end: number } | null;
}

function where(options: EnvBlockOptions, lineIndex: number): string {
  return `${options.fileName ?? 'the env file'}:${lineIndex + 1}`;
}

function locateBlock(content: string, options: EnvBlockOptions): Located {
  const bom = content.startsWith(BOM) ? BOM : content.startsWith(BOM_LATIN1) ? BOM_LATIN1 : '';
  const text = content.slice(bom.length);
  const lines = splitLines(text);
  const begins: number[] = [];
  const ends: number[] = [];
  lines.forEach((line, i) => {
    const t = line.text.trim();
    if (BEGIN_LINE.test(t)) begins.push(i);
    else if (END_LINE.test(t)) ends.push(i);
  });
  const file = options.fileName ?? 'The env file';
  if (begins.length > 1) {
    throw new ConflictError(
      `${file} has ${begins.length} managed ports blocks (lines ${begins.map((i) => i + 1).join(', ')}); there must be at most one.`,
      'Delete all but one block (from its `# >>> ports` line to its `# <<< ports <<<` line), then run `ports env`.',
    );
  }
  if (begins.length === 1 && (ends.length !== 1 || ends[0]! < begins[0]!)) {
    const begin = begins[0]!;
    throw new ConflictError(
      ends.length === 0 || ends.every((e) => e < begin)
        ? `${where(options, begin)}: the managed ports block is not terminated (no \`${BLOCK_END}\` line after it).`
        : `${file}: the managed ports block starting at line ${begin + 1} has ${ends.length} end markers.`,
      `Make the block end with one \`${BLOCK_END}\` line (or delete the block), then run \`ports env\`.`,
    );
  }
  if (begins.length === 0 && ends.length > 0) {
    throw new ConflictError(
      `${where(options, ends[0]!)}: a \`${BLOCK_END}\` line without a \`# >>> ports\` line before it.`,
      'Delete that line (or restore the block\'s first line), then run `ports env`.',
    );
  }
  return { bom, text, lines, block: begins.length === 1 ? { begin: begins[0]!, end: ends[0]! } : null };
}

/** The variables inside the block (null when the file has none). Throws when the block is malformed. */
export function parseEnvBlock(content: string, options: EnvBlockOptions = {}): Map<string, string> | null {
  const { lines, block } = locateBlock(content, options);
  if (!block) return null;
  const vars = new Map<string, string>();
  for (const line of lines.slice(block.begin + 1, block.end)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line.text);
    if (m) vars.set(m[1]!, m[2]!.replace(/^(['"])(.*)\1$/, '$2'));
  }
  return vars;
}

/** Names assigned on lines outside the block. */
export function namesOutsideBlock(content: string, options: EnvBlockOptions = {}): Set<string> {
  const { lines, block } = locateBlock(content, options);
  const names = new Set<string>();
  lines.forEach((line, i) => {
    if (block && i >= block.begin && i <= block.end) return;
    const m = ASSIGNMENT.exec(line.text);
    if (m) names.add(m[1]!);
  });
  return names;
}

/** Lines outside the block that set a variable the block sets: they override (or shadow) the port ports allocated. */
export function blockNamesSetOutside(content: string, options: EnvBlockOptions = {}): { name: string; line: number }[] {
  const inBlock = parseEnvBlock(content, options);
  if (!inBlock) return [];
  const { lines, block } = locateBlock(content, options);
  const found: { name: string; line: number }[] = [];
  lines.forEach((line, i) => {
    if (block && i >= block.begin && i <= block.end) return;
    const m = ASSIGNMENT.exec(line.text);
    if (m && inBlock.has(m[1]!)) found.push({ name: m[1]!, line: i + 1 });
  });
  return found;
}

function detectEol(text: string): '\n' | '\r\n' {
  const nl = text.indexOf('\n');
  return nl > 0 && text[nl - 1] === '\r' ? '\r\n' : '\n';
}

/**
 * Puts `vars` into `existing` (null: no file yet). Replaces the block in place, or appends it;
 * empty or null `vars` removes it. Throws on a malformed file (two blocks, no end marker)
 * rather than guessing. When a managed name is also set outside the block, the content is
 * returned unchanged and the names are listed in `duplicates`: the user's lines are never edited.
 */
export function mergeEnvBlock(existing: string | null, vars: EnvVars | null, options: EnvBlockOptions = {}): MergeResult {
  const wanted = vars ?? [];
  validateEnvVars(wanted);
  if (existing === null) {
    if (wanted.length === 0) return { content: null, changed: false, duplicates: [], deletable: false };
    return { content: renderEnvBlock(wanted), changed: true, duplicates: [], deletable: false };
  }
  const { bom, text, lines, block } = locateBlock(existing, options);
  const outside = namesOutsideBlock(existing, options);
  const duplicates = wanted.map(([name]) => name).filter((name) => outside.has(name));
  if (duplicates.length > 0) return { content: existing, changed: false, duplicates, deletable: false };

  const eol = detectEol(text);
  // A file that existed empty is the user's: its block says so, and releasing keeps the file.
  const keepFile = block ? lines[block.begin]!.text.trim() === BLOCK_BEGIN_KEEP_FILE : existing === '';
  const rendered = wanted.length > 0 ? renderEnvBlock(wanted, eol, keepFile ? BLOCK_BEGIN_KEEP_FILE : BLOCK_BEGIN) : '';
  let next: string;
  if (block) {
    let start = lines[block.begin]!.start;
    const after = text.slice(lines[block.end]!.end);
    // A block appended to a file without a final line ending keeps the file that way: it ends
    // the file without one, and owns the line ending before it (removed with it on release).
    const endsFileWithoutEol = after === '' && !text.endsWith('\n');
    if (wanted.length > 0) next = text.slice(0, start) + (endsFileWithoutEol ? rendered.slice(0, -eol.length) : rendered) + after;
    else {
      if (endsFileWithoutEol && start > 0) start -= text.slice(0, start).endsWith('\r\n') ? 2 : 1;
      next = text.slice(0, start) + after;
    }
  } else if (wanted.length === 0) {
    next = text;
  } else if (text.length > 0 && !text.endsWith('\n')) {
    next = text + eol + rendered.slice(0, -eol.length);
  } else {
    next = text + rendered;
  }
  const content = next.length === 0 ? '' : bom + next;
  return { content, changed: content !== existing, duplicates: [], deletable: content === '' && !keepFile };
}
