import { findJsonSyntaxError, findKeyProblem, findKeyProblemIn } from '../../src/core/strict-json';

describe('findKeyProblem', () => {
  it.each([
    ['{"a":1,"b":2}', null],
    ['{"a":{"x":1},"b":{"x":2}}', null],
    ['[{"a":1},{"a":2}]', null],
    ['{"a":"\\"b\\":1","b":1}', null],
    ['{"a":1,"a":2}', 'a: duplicate key "a" (JSON keeps only the last one)'],
    ['{"list":[{"p":1},{"p":1,"p":2}]}', 'list[1].p: duplicate key "p" (JSON keeps only the last one)'],
    ['{"x":{"__proto__":1}}', 'x.__proto__: "__proto__" keys are not allowed'],
    ['{"\\u0061":1,"a":2}', 'a: duplicate key "a" (JSON keeps only the last one)'],
    ['{"he said \\"hi\\": ok":1,"b":"x\\":"}', null],
    ['{"a\\\\":1,"a\\\\" :2}', 'a\\: duplicate key "a\\" (JSON keeps only the last one)'],
    ['{ "a" : 1 , "a" : 2 }', 'a: duplicate key "a" (JSON keeps only the last one)'],
  ])('%s → %s', (text, expected) => {
    expect(findKeyProblem(text)).toBe(expected);
    // The counting fast path gives the same answer.
    expect(findKeyProblemIn(text, JSON.parse(text))).toBe(expected);
  });

  it('scans a 10,000-entry registry', () => {
    const allocations = Array.from({ length: 10000 }, (_, i) => ({ port: i + 1, worktree: `w${i}`, service: 'web' }));
    expect(findKeyProblem(JSON.stringify({ allocations }, null, 2))).toBeNull();
  });
});

describe('findJsonSyntaxError', () => {
  it.each([
    ['{"a": [1, 2,]}', { line: 1, column: 13, message: 'expected a value (a trailing comma before "]" is not allowed), found "]"' }],
    ['{\n  "a": 1,\n}', { line: 3, column: 1, message: 'expected another key (a trailing comma before "}" is not allowed), found "}"' }],
    ['{"ranges": ', { line: 1, column: 12, message: 'expected a value, found the end of the file' }],
    ['{"a": tru}', { line: 1, column: 7, message: 'expected a value, found "t"' }],
    ['{"a": "x\ny"}', { line: 1, column: 9, message: 'control character inside a string (a line break in a value?)' }],
    ['{"a": 1} x', { line: 1, column: 10, message: 'expected the end of the file, found "x"' }],
    // A duplicate key before the syntax error does not hide it.
    ['{"a": 1, "a": 2, }', { line: 1, column: 18, message: 'expected another key (a trailing comma before "}" is not allowed), found "}"' }],
  ])('%j → %j', (text, expected) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(findJsonSyntaxError(text)).toMatchObject(expected);
  });

  it('finds nothing in valid JSON, duplicate keys included', () => {
    expect(findJsonSyntaxError('{"a": [1, {"b": null}], "a": -1.5e3}')).toBeNull();
  });
});
