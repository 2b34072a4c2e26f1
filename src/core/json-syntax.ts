/**
 * Where a JSON text goes wrong. JSON.parse in Node 20 often says only "… is not valid JSON";
 * this validating scanner (run only after JSON.parse failed) finds the offset and names what
 * was expected there.
 */
export interface JsonSyntaxError {
  offset: number;
  line: number;
  column: number;
  message: string;
}

class Fail extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const show = (at: number) => (at >= text.length ? 'the end of the file' : JSON.stringify(text[at]));
  const expect = (what: string): never => {
    throw new Fail(i, `expected ${what}, found ${show(i)}`);
  };
  const string = () => {
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 34) return void i++;
      if (c < 32) throw new Fail(i, 'control character inside a string (a line break in a value?)');
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Fail(i, 'bad \\u escape');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else throw new Fail(i, 'bad escape in a string');
      } else i++;
    }
    throw new Fail(i, 'unterminated string');
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') expect(text[i] === '}' ? 'another key (a trailing comma before "}" is not allowed)' : 'a key in double quotes');
        string();
        ws();
        if (text[i] !== ':') expect('":"');
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') return void i++;
        expect('"," or "}"');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        ws();
        if (text[i] === ']') expect('a value (a trailing comma before "]" is not allowed)');
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') return void i++;
        expect('"," or "]"');
      }
    }
    if (c === '"') return string();
    const literal = /^(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!literal) expect('a value');
    i += (literal as RegExpExecArray)[0].length;
  };
  try {
    value();
    ws();
    if (i < text.length) expect('the end of the file');
    return null;
  } catch (error) {
    if (!(error instanceof Fail)) throw error;
    const before = text.slice(0, error.offset);
    const line = before.split('\n').length;
    return { offset: error.offset, line, column: error.offset - before.lastIndexOf('\n'), message: error.message };
  }
}
