import { parse as dotenvParse } from 'dotenv';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BLOCK_BEGIN, BLOCK_BEGIN_KEEP_FILE, BLOCK_END, mergeEnvBlock, parseEnvBlock, renderEnvBlock, type EnvVars } from '../../src/core/env-block';
import { ConflictError, UsageError } from '../../src/errors';
import { readWorktreeEnv, writeWorktreeEnv } from '../../src/io/env-file';

const VARS: EnvVars = [
  ['PORT_WEB', '8081'],
  ['COMPOSE_PROJECT_NAME', 'myrepo-feature-x'],
];
const BLOCK = `${BLOCK_BEGIN}\nPORT_WEB=8081\nCOMPOSE_PROJECT_NAME=myrepo-feature-x\n${BLOCK_END}\n`;
const BLOCK_CRLF = BLOCK.replace(/\n/g, '\r\n');

describe('renderEnvBlock', () => {
  it('renders the variables between the markers, one NAME=value line each', () => {
    expect(renderEnvBlock(VARS)).toBe(BLOCK);
  });

  it.each<[string, EnvVars]>([
    ['a newline in a value', [['PORT_WEB', '8080\nEVIL=1']]],
    ['a command substitution', [['PORT_WEB', '$(rm -rf ~)']]],
    ['a backtick substitution', [['PORT_WEB', '`id`']]],
    ['a quote', [['PORT_WEB', '8080"']]],
    ['a space', [['PORT_WEB', '80 80']]],
    ['a comment', [['PORT_WEB', '8080#x']]],
    ['a carriage return', [['PORT_WEB', '8080\rEVIL=1']]],
    ['a name with a newline', [['PORT_WEB\nEVIL', '1']]],
    ['a name with =', [['A=B', '1']]],
    ['a name starting with a digit', [['1PORT', '1']]],
    ['an empty name', [['', '1']]],
    ['a name given twice', [['PORT_WEB', '1'], ['PORT_WEB', '2']]],
    ['a URL with a space', [['URL_WEB', 'http://web.x.localhost:7355/ EVIL=1/']]],
    ['a URL with a substitution', [['URL_WEB', 'http://$(id).localhost:7355/']]],
    ['a URL with a path', [['URL_WEB', 'http://web.x.localhost:7355/a`id`/']]],
    ['a URL with a quote', [['URL_WEB', 'http://web.x.localhost:7355/"']]],
  ])('refuses %s', (_label, vars) => {
    expect(() => renderEnvBlock(vars)).toThrow(UsageError);
    expect(() => mergeEnvBlock('A=1\n', vars)).toThrow(UsageError);
  });

  it('accepts ports, names and empty values', () => {
    expect(() => renderEnvBlock([['A', ''], ['B_2', 'my-repo_x.y:1']])).not.toThrow();
  });

  it('accepts a proxy URL (urls: true)', () => {
    expect(renderEnvBlock([['URL_WEB', 'http://web.feature-x.localhost:7355/']])).toContain('URL_WEB=http://web.feature-x.localhost:7355/');
  });
});

describe('mergeEnvBlock keeps the user\'s lines byte for byte', () => {
  const cases: Array<{ name: string; existing: string; expected: string }> = [
    { name: 'file with a final newline', existing: 'A=1\n# comment\n', expected: `A=1\n# comment\n${BLOCK}` },
    { name: 'file without a final newline (stays without one)', existing: 'A=1', expected: `A=1\n${BLOCK.slice(0, -1)}` },
    { name: 'CRLF file (block written with CRLF too)', existing: 'A=1\r\nB=2\r\n', expected: `A=1\r\nB=2\r\n${BLOCK_CRLF}` },
    { name: 'CRLF file without a final newline (stays without one)', existing: 'A=1\r\nB=2', expected: `A=1\r\nB=2\r\n${BLOCK_CRLF.slice(0, -2)}` },
    { name: 'file with a BOM', existing: '\uFEFFA=1\n', expected: `\uFEFFA=1\n${BLOCK}` },
    { name: 'export lines, quotes and blank lines', existing: 'export X=1\n\nY="a b" # c\n\n', expected: `export X=1\n\nY="a b" # c\n\n${BLOCK}` },
    { name: 'empty file (the user\'s: its block says the file stays)', existing: '', expected: BLOCK.replace(BLOCK_BEGIN, BLOCK_BEGIN_KEEP_FILE) },
    {
      name: 'block in the middle replaced in place',
      existing: `A=1\n${BLOCK_BEGIN}\nPORT_WEB=9999\n${BLOCK_END}\nB=2`,
      expected: `A=1\n${BLOCK}B=2`,
    },
    {
      name: 'block at the start of a BOM file replaced in place',
      existing: `\uFEFF${BLOCK_BEGIN}\nOLD=1\n${BLOCK_END}\nB=2\n`,
      expected: `\uFEFF${BLOCK}B=2\n`,
    },
    {
      name: 'block written by another version (other marker wording) replaced',
      existing: `A=1\n# >>> ports (old wording) >>>\nPORT_WEB=1\n# <<< ports <<<\n`,
      expected: `A=1\n${BLOCK}`,
    },
    {
      name: 'user edits inside the block are overwritten',
      existing: `${BLOCK_BEGIN}\nPORT_WEB=1\nMINE=2\n${BLOCK_END}\n`,
      expected: BLOCK,
    },
  ];

  it.each(cases)('$name', ({ existing, expected }) => {
    const result = mergeEnvBlock(existing, VARS);
    expect(result).toEqual({ content: expected, changed: existing !== expected, duplicates: [], deletable: false });
    expect(dotenvParse(result.content!)).toMatchObject({ PORT_WEB: '8081', COMPOSE_PROJECT_NAME: 'myrepo-feature-x' });
  });

  it('is idempotent: merging the same variables again changes nothing', () => {
    const once = mergeEnvBlock('A=1\r\n', VARS).content!;
    expect(mergeEnvBlock(once, VARS)).toEqual({ content: once, changed: false, duplicates: [], deletable: false });
  });

  it('creates the content when there is no file', () => {
    expect(mergeEnvBlock(null, VARS)).toEqual({ content: BLOCK, changed: true, duplicates: [], deletable: false });
  });

  it('keeps the user\'s values next to ours when dotenv parses the result', () => {
    const content = mergeEnvBlock('export X=1\nSECRET="a b"\n# PORT_WEB=1 in a comment\n', VARS).content!;
    expect(dotenvParse(content)).toEqual({ X: '1', SECRET: 'a b', PORT_WEB: '8081', COMPOSE_PROJECT_NAME: 'myrepo-feature-x' });
  });
});

describe('mergeEnvBlock round trip', () => {
  it.each(['A=1', 'A=1\n', 'A=1\r\nB=2', 'A=1\r\nB=2\r\n', '\uFEFFA=1', ''])('allocate then release gives back %j byte for byte', (mine) => {
    const withBlock = mergeEnvBlock(mine, VARS).content as string;
    const updated = mergeEnvBlock(withBlock, [['PORT_WEB', '9000']]).content as string;
    expect(mergeEnvBlock(updated, null).content).toBe(mine);
  });
});

describe('mergeEnvBlock removes the block', () => {
  it.each<{ name: string; existing: string | null; vars: EnvVars | null; content: string | null; changed: boolean }>([
    { name: 'leaves the user\'s lines exactly', existing: `A=1\r\n${BLOCK_CRLF}B=2`, vars: null, content: 'A=1\r\nB=2', changed: true },
    { name: 'returns "" when nothing else remains (the caller deletes the file)', existing: BLOCK, vars: [], content: '', changed: true },
    { name: 'returns "" for a BOM and the block only', existing: `\uFEFF${BLOCK}`, vars: null, content: '', changed: true },
    { name: 'changes nothing when there is no block', existing: 'A=1', vars: null, content: 'A=1', changed: false },
    { name: 'writes nothing when there is no file', existing: null, vars: null, content: null, changed: false },
  ])('$name', ({ existing, vars, content, changed }) => {
    expect(mergeEnvBlock(existing, vars)).toEqual({ content, changed, duplicates: [], deletable: content === '' });
  });
});

describe('mergeEnvBlock detects managed names set by the user', () => {
  it.each([
    ['a plain assignment', 'PORT_WEB=3000\n', ['PORT_WEB']],
    ['an export', 'export PORT_WEB=3000\n', ['PORT_WEB']],
    ['spaces around =', '  PORT_WEB = 3000\n', ['PORT_WEB']],
    ['the YAML-ish colon form dotenv accepts', 'PORT_WEB: 3000\n', ['PORT_WEB']],
    ['two names', 'COMPOSE_PROJECT_NAME=x\nPORT_WEB=1\n', ['PORT_WEB', 'COMPOSE_PROJECT_NAME']],
    ['a name after the block', `${BLOCK}PORT_WEB=1\n`, ['PORT_WEB']],
  ])('%s', (_label, existing, duplicates) => {
    expect(mergeEnvBlock(existing, VARS)).toEqual({ content: existing, changed: false, duplicates, deletable: false });
  });

  it.each([
    ['a commented-out line', '# PORT_WEB=1\n'],
    ['a longer name', 'PORT_WEBSOCKET=1\n'],
    ['a name inside our own block', BLOCK],
  ])('ignores %s', (_label, existing) => {
    expect(mergeEnvBlock(existing, VARS).duplicates).toEqual([]);
  });
});

describe('malformed files are refused, not guessed at', () => {
  it.each([
    ['two blocks', `${BLOCK}A=1\n${BLOCK}`, /2 managed ports blocks \(lines 1, 6\)/],
    ['an unterminated block', `A=1\n${BLOCK_BEGIN}\nPORT_WEB=1\n`, /\.env:2: the managed ports block is not terminated/],
    ['an end marker before the begin marker', `${BLOCK_END}\n${BLOCK_BEGIN}\n`, /not terminated/],
    ['an end marker alone', `A=1\n${BLOCK_END}\n`, /\.env:2: a `# <<< ports <<<` line without/],
  ])('%s', (_label, existing, message) => {
    let error: unknown;
    try {
      mergeEnvBlock(existing, VARS, { fileName: '.env' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).message).toMatch(message);
    expect((error as ConflictError).hint).toMatch(/ports env/);
    expect(() => parseEnvBlock(existing, { fileName: '.env' })).toThrow(ConflictError);
  });
});

describe('parseEnvBlock', () => {
  it.each<[string, string, Record<string, string> | null]>([
    ['no block', 'A=1\n', null],
    ['our block', `A=1\r\n${BLOCK_CRLF}`, { PORT_WEB: '8081', COMPOSE_PROJECT_NAME: 'myrepo-feature-x' }],
    ['a hand-edited block with comments and quotes', `${BLOCK_BEGIN}\n# note\nPORT_WEB="8082"\n\nexport PORT_DB=5433\n${BLOCK_END}\n`, { PORT_WEB: '8082', PORT_DB: '5433' }],
    ['an empty block', `${BLOCK_BEGIN}\n${BLOCK_END}`, {}],
  ])('%s', (_label, content, expected) => {
    const vars = parseEnvBlock(content);
    expect(vars === null ? null : Object.fromEntries(vars)).toEqual(expected);
  });

  it('reads back what mergeEnvBlock wrote', () => {
    const content = mergeEnvBlock('X=1', VARS).content!;
    expect([...parseEnvBlock(content)!]).toEqual(VARS);
  });
});

describe('writeWorktreeEnv / readWorktreeEnv (the file on disk)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-env-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const envPath = () => path.join(dir, '.env');

  it('creates the file, reads the block back, and deletes the file on release when it holds nothing else', () => {
    expect(writeWorktreeEnv(dir, '.env', VARS)).toEqual({ file: envPath(), changed: true, deleted: false });
    expect(fs.readFileSync(envPath(), 'utf8')).toBe(BLOCK);
    expect(readWorktreeEnv(dir, '.env')).toEqual({ file: envPath(), vars: new Map(VARS), exists: true, setOutside: [] });
    expect(writeWorktreeEnv(dir, '.env', VARS).changed).toBe(false);
    expect(writeWorktreeEnv(dir, '.env', null)).toEqual({ file: envPath(), changed: true, deleted: true });
    expect(fs.existsSync(envPath())).toBe(false);
    expect(readWorktreeEnv(dir, '.env')).toEqual({ file: envPath(), vars: null, exists: false, setOutside: [] });
  });

  it('keeps a user\'s file, byte for byte, when the block is removed', () => {
    const mine = 'export X=1\r\n# mine\r\nY=2';
    fs.writeFileSync(envPath(), mine);
    writeWorktreeEnv(dir, '.env', VARS);
    expect(dotenvParse(fs.readFileSync(envPath()))).toEqual({ X: '1', Y: '2', PORT_WEB: '8081', COMPOSE_PROJECT_NAME: 'myrepo-feature-x' });
    expect(writeWorktreeEnv(dir, '.env', [])).toEqual({ file: envPath(), changed: true, deleted: false });
    expect(fs.readFileSync(envPath(), 'utf8')).toBe(mine);
  });

  it('keeps the file\'s mode', () => {
    fs.writeFileSync(envPath(), 'A=1\n', { mode: 0o600 });
    fs.chmodSync(envPath(), 0o600);
    writeWorktreeEnv(dir, '.env', VARS);
    expect(fs.statSync(envPath()).mode & 0o777).toBe(0o600);
  });

  it('writes a nested env file, creating its folder', () => {
    expect(writeWorktreeEnv(dir, 'config/dev.env', VARS).file).toBe(path.join(dir, 'config', 'dev.env'));
    expect(readWorktreeEnv(dir, 'config/dev.env').vars).toEqual(new Map(VARS));
  });

  it('refuses (exit 4) and leaves the file untouched when the user sets a managed variable', () => {
    fs.writeFileSync(envPath(), 'PORT_WEB=3000\n');
    let error: unknown;
    try {
      writeWorktreeEnv(dir, '.env', VARS);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).exitCode).toBe(4);
    expect((error as ConflictError).message).toContain(`${envPath()} already sets PORT_WEB outside the ports block`);
    expect((error as ConflictError).hint).toMatch(/services\.<name>\.env/);
    expect(fs.readFileSync(envPath(), 'utf8')).toBe('PORT_WEB=3000\n');
  });

  it.each([['8080\nEVIL=1'], ['$(rm -rf ~)']])('refuses the injected value %p without touching the file', (value) => {
    fs.writeFileSync(envPath(), 'A=1\n');
    expect(() => writeWorktreeEnv(dir, '.env', [['PORT_WEB', value]])).toThrow(UsageError);
    expect(fs.readFileSync(envPath(), 'utf8')).toBe('A=1\n');
  });

  it('names the file and the line of a malformed block', () => {
    fs.writeFileSync(envPath(), `A=1\n${BLOCK_BEGIN}\nPORT_WEB=1\n`);
    expect(() => readWorktreeEnv(dir, '.env')).toThrow(`${envPath()}:2: the managed ports block is not terminated`);
    expect(() => writeWorktreeEnv(dir, '.env', VARS)).toThrow(ConflictError);
  });
});
