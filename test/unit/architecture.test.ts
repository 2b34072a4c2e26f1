/**
 * Imports run one way: commands → ops → (config, io) → core → errors, with context/output as the
 * plumbing between io and ops (docs/design.md, "Layers"). ESLint checks the static imports as you
 * type; this test also sees `await import(...)` and `require(...)`, and keeps every file short.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
const SRC = path.join(ROOT, 'src');
const MAX_LINES = 400;

type Layer = 'entry' | 'commands' | 'ops' | 'context' | 'output' | 'io' | 'config' | 'core' | 'errors';

/** What each layer may import from src/ (a layer not listed for itself may not import its own kind). */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  entry: ['entry', 'commands', 'ops', 'context', 'output', 'io', 'config', 'core', 'errors'],
  commands: ['ops', 'context', 'output', 'io', 'config', 'core', 'errors'],
  ops: ['ops', 'context', 'output', 'io', 'config', 'core', 'errors'],
  context: ['output', 'io', 'config', 'core', 'errors'],
  output: ['core', 'errors'],
  io: ['io', 'config', 'core', 'errors'],
  config: ['config', 'io', 'core', 'errors'],
  core: ['core', 'errors'],
  errors: [],
};

/** core/ is pure: it decides, io/ does the touching. */
const IMPURE_MODULES = /^(node:)?(fs|net|child_process)(\/.*)?$/;


function layerOf(file: string): Layer {
  const rel = path.relative(SRC, file).split(path.sep);
  if (rel.length > 1) {
    const folder = rel[0] as Layer;
    if (['commands', 'ops', 'io', 'config', 'core'].includes(folder)) return folder;
    throw new Error(`${file}: a src/ folder the layer rule does not know; add it to test/unit/architecture.test.ts`);
  }
  const base = path.basename(file, '.ts');
  if (base === 'context' || base === 'output' || base === 'errors') return base;
  return 'entry';
}

/** Why `from` may not import `spec`, or null when it may. */
function layerViolation(from: string, spec: string): string | null {
  const fromLayer = layerOf(from);
  if (!spec.startsWith('.')) {
    return fromLayer === 'core' && IMPURE_MODULES.test(spec) ? `core is pure and may not use ${spec}` : null;
  }
  const target = resolveSource(path.resolve(path.dirname(from), spec));
  const toLayer = layerOf(target);
  if (MAY_IMPORT[fromLayer].includes(toLayer)) return null;
  if (fromLayer === 'commands' && toLayer === 'commands') return 'a command imports another command: move the shared step to src/ops/';
  return `${fromLayer} may not import ${toLayer} (allowed: ${MAY_IMPORT[fromLayer].join(', ') || 'nothing in src/'})`;
}

function resolveSource(base: string): string {
  for (const candidate of [base + '.ts', path.join(base, 'index.ts'), base]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return base + '.ts';
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

interface ImportEdge {
  file: string;
  line: number;
  spec: string;
}

/** Static imports and re-exports, `import(...)` and `require(...)`; text in comments and strings is not an import. */
function importsOf(file: string): ImportEdge[] {
  const text = fs.readFileSync(file, 'utf8');
  return ts.preProcessFile(text, true, true).importedFiles.map((ref) => ({
    file,
    line: text.slice(0, ref.pos).split('\n').length,
    spec: ref.fileName,
  }));
}

const rel = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');

describe('architecture', () => {
  const files = sourceFiles(SRC);

  test('src/ has source files to check', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  test('every import in src/ runs down the layers', () => {
    const offending: string[] = [];
    for (const file of files) {
      for (const edge of importsOf(file)) {
        const reason = layerViolation(file, edge.spec);
        if (reason === null) continue;
        const target = edge.spec.startsWith('.') ? rel(resolveSource(path.resolve(path.dirname(file), edge.spec))) : edge.spec;
        offending.push(`${rel(file)}:${edge.line} -> ${target}: ${reason}`);
      }
    }
    if (offending.length) throw new Error(`Imports against the layers (docs/design.md, "Layers"):\n${offending.join('\n')}`);
  });

  test(`no file in src/ is over ${MAX_LINES} lines`, () => {
    const long = files
      .map((file) => ({ file, lines: fs.readFileSync(file, 'utf8').split('\n').length }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${rel(f.file)}: ${f.lines} lines (split it by job)`);
    if (long.length) throw new Error(`Files over ${MAX_LINES} lines:\n${long.join('\n')}`);
  });

  test('no src file orders text with localeCompare (the ICU collator costs ~8 ms on first use; core/compare.ts)', () => {
    const users = files.filter((file) => !file.endsWith(`core${path.sep}compare.ts`) && /\.localeCompare\(/.test(fs.readFileSync(file, 'utf8'))).map(rel);
    expect(users).toEqual([]);
  });

  test('the rule catches each kind of upward import', () => {
    const at = (p: string) => path.join(SRC, p);
    expect(layerViolation(at('commands/doctor.ts'), './check')).toMatch(/another command/);
    expect(layerViolation(at('ops/ensure.ts'), '../commands/compose')).toMatch(/ops may not import commands/);
    expect(layerViolation(at('io/git.ts'), '../ops/ensure')).toMatch(/io may not import ops/);
    expect(layerViolation(at('config/load.ts'), '../commands/init')).toMatch(/config may not import commands/);
    expect(layerViolation(at('io/git.ts'), '../context')).toMatch(/io may not import context/);
    expect(layerViolation(at('output.ts'), './context')).toMatch(/output may not import context/);
    expect(layerViolation(at('core/allocation.ts'), '../io/lock')).toMatch(/core may not import io/);
    expect(layerViolation(at('core/allocation.ts'), '../config/schema')).toMatch(/core may not import config/);
    expect(layerViolation(at('core/allocation.ts'), '../context')).toMatch(/core may not import context/);
    expect(layerViolation(at('core/allocation.ts'), 'node:fs')).toMatch(/pure/);
    expect(layerViolation(at('core/allocation.ts'), 'child_process')).toMatch(/pure/);
    expect(layerViolation(at('core/allocation.ts'), 'node:net')).toMatch(/pure/);
    // and lets the downward ones through
    expect(layerViolation(at('commands/doctor.ts'), '../ops/conflicts')).toBeNull();
    expect(layerViolation(at('ops/ensure.ts'), '../io/lock')).toBeNull();
    expect(layerViolation(at('core/project-name.ts'), 'node:crypto')).toBeNull();
    expect(layerViolation(at('context.ts'), './output')).toBeNull();
  });
});
