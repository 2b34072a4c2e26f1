import { findKeyProblem, findKeyProblemIn } from '../../src/core/strict-json';

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
