/**
 * The one JSON scanner: where a registry's text goes wrong, for the messages JSON.parse cannot
 * give. It runs only after JSON.parse failed (V8 names no position for "Unexpected token"
 * errors, on any Node version) or, on text JSON.parse accepted, when the text may hold what
 * JSON.parse forgives and a registry must not: duplicate keys (the last one silently wins, so a
 * hand-merged file would lose an entry) and `__proto__` keys.
 */
export interface JsonSyntaxError {
  offset: number;
  line: number;
  column: number;
  message: string;
}

class Problem extends Error {
  constructor(
    readonly offset: number,
    message: string,
    readonly syntax: boolean,
  ) {
    super(message);
  }
}

const LITERAL = /(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/y;

/** Walks the text as JSON; throws the first Problem (a syntax error, or with `keys` a bad key with its path). */
function scan(text: string, keys: boolean): void {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const show = (at: number) => (at >= text.length ? 'the end of the file' : JSON.stringify(text[at]));
  const expect = (what: string): never => {
    throw new Problem(i, `expected ${what}, found ${show(i)}`, true);
  };
  /** Skips a string starting at its opening quote; returns its raw body. */
  const string = (): string => {
    const start = ++i;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 34) return text.slice(start, i++);
      if (c < 32) throw new Problem(i, 'control character inside a string (a line break in a value?)', true);
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Problem(i, 'bad \\u escape', true);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else throw new Problem(i, 'bad escape in a string', true);
      } else i++;
    }
    throw new Problem(i, 'unterminated string', true);
  };
  /** After a member: true at a comma (another follows), false past the closing bracket. */
  const another = (close: string): boolean => {
    ws();
    if (text[i] === ',' || text[i] === close) return text[i++] === ',';
    return expect(`"," or "${close}"`);
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      const seen: string[] = [];
      for (;;) {
        ws();
        if (text[i] !== '"') expect(text[i] === '}' ? 'another key (a trailing comma before "}" is not allowed)' : 'a key in double quotes');
        const at = i;
        const raw = string();
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        const keyPath = path ? `${path}.${key}` : key;
        if (keys) {
          if (key === '__proto__') throw new Problem(at, `${keyPath}: "__proto__" keys are not allowed`, false);
          // Registry objects have few keys: a linear look-up beats a Set per object.
          if (seen.includes(key)) throw new Problem(at, `${keyPath}: duplicate key "${key}" (JSON keeps only the last one)`, false);
          seen.push(key);
        }
        ws();
        if (text[i] !== ':') expect('":"');
        i++;
        value(keyPath);
        if (!another('}')) return;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (let index = 0; ; index++) {
        ws();
        if (text[i] === ']') expect('a value (a trailing comma before "]" is not allowed)');
        value(`${path}[${index}]`);
        if (!another(']')) return;
      }
    }
    if (c === '"') return void string();
    LITERAL.lastIndex = i;
    if (!LITERAL.test(text)) expect('a value');
    i = LITERAL.lastIndex;
  };
  value('');
  ws();
  if (i < text.length) expect('the end of the file');
}

function firstProblem(text: string, keys: boolean): Problem | null {
  try {
    scan(text, keys);
    return null;
  } catch (error) {
    if (error instanceof Problem) return error;
    if (error instanceof RangeError) return new Problem(0, 'nested too deeply', true);
    throw error;
  }
}

/** Where text that JSON.parse refused goes wrong, with line and column; null when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  const problem = firstProblem(text, false);
  if (!problem) return null;
  const before = text.slice(0, problem.offset);
  return { offset: problem.offset, line: before.split('\n').length, column: problem.offset - before.lastIndexOf('\n'), message: problem.message };
}

/** A message naming the first duplicate or `__proto__` key with its path, or null when clean. */
export function findKeyProblem(text: string): string | null {
  const problem = firstProblem(text, true);
  return problem && !problem.syntax ? problem.message : null;
}

const BACKSLASH = 92;
/** A key whose closing quote is followed by whitespace before its colon (hand-written files). */
const SPACED_KEY_END = /"\s+:/g;

function countParsedKeys(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let count = 0;
  if (Array.isArray(value)) for (const item of value) count += countParsedKeys(item);
  else
    // for…in, not Object.keys: no array per object (JSON.parse makes no inherited keys).
    for (const key in value) {
      if (key === '__proto__') return Infinity; // make the counts differ: the scanner names it
      count += 1 + countParsedKeys((value as Record<string, unknown>)[key]);
    }
  return count;
}

/**
 * findKeyProblem for text JSON.parse turned into `parsed`, without the scan on the usual clean
 * file: a duplicate key is the only way the text can hold more keys (a string closed right
 * before a colon) than the parsed value, so the scanner runs only when the two counts differ.
 * It pays: on a 10,000-allocation registry (2.9 MB, Node 24, `npm run bench` row 3's file) the
 * count costs about what JSON.parse does and a quarter of the scan (59 ms against 243 ms,
 * medians of 15, on the loaded 2-core machine).
 */
export function findKeyProblemIn(text: string, parsed: unknown): string | null {
  // An escaped quote inside a string (`\":`) is not the end of a key.
  const unescaped = (quote: number): boolean => {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    return backslashes % 2 === 0;
  };
  let keysInText = 0;
  for (let at = text.indexOf('":'); at !== -1; at = text.indexOf('":', at + 2)) if (unescaped(at)) keysInText++;
  SPACED_KEY_END.lastIndex = 0;
  for (let m = SPACED_KEY_END.exec(text); m !== null; m = SPACED_KEY_END.exec(text)) if (unescaped(m.index)) keysInText++;
  return keysInText === countParsedKeys(parsed) ? null : findKeyProblem(text);
}
