/**
 * What JSON.parse forgives and a registry must not: duplicate keys (the last one silently wins,
 * so a hand-merged file loses an entry) and `__proto__` keys. Runs on text JSON.parse accepted,
 * in one pass. Registry objects have few keys, so a linear look-up beats a Set per object.
 */
const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COMMA = 44;

interface Frame {
  keys: string[] | null; // null for arrays
  key: string;
  index: number;
  expectKey: boolean;
}

function pathOf(stack: Frame[], lastKey?: string): string {
  let out = '';
  for (const frame of stack) {
    if (frame.keys === null) out += `[${frame.index}]`;
    else if (frame !== stack[stack.length - 1] || lastKey === undefined) out += out ? `.${frame.key}` : frame.key;
  }
  if (lastKey !== undefined) out += out ? `.${lastKey}` : lastKey;
  return out || '(root)';
}

const STRUCTURAL = /[{}[\],"]/g;

/** Index of the quote that closes the string whose opening quote is at `open`. */
function closingQuote(text: string, open: number): number {
  let at = text.indexOf('"', open + 1);
  for (;;) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
    at = text.indexOf('"', at + 1);
  }
}

/** A message naming the first duplicate or forbidden key with its path, or null when clean. */
export function findKeyProblem(text: string): string | null {
  const stack: Frame[] = [];
  STRUCTURAL.lastIndex = 0;
  // The regex engine skips whitespace, numbers and literals natively; string bodies are skipped
  // by indexOf. Small objects keep their keys in an array: cheaper than a Set per object.
  for (let m = STRUCTURAL.exec(text); m !== null; m = STRUCTURAL.exec(text)) {
    const i = m.index;
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = closingQuote(text, i);
      STRUCTURAL.lastIndex = end + 1;
      const top = stack[stack.length - 1];
      if (top && top.keys !== null && top.expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (key === '__proto__') return `${pathOf(stack, key)}: "__proto__" keys are not allowed`;
        if (top.keys.includes(key)) return `${pathOf(stack, key)}: duplicate key "${key}" (JSON keeps only the last one)`;
        top.keys.push(key);
        top.key = key;
        top.expectKey = false;
      }
    } else if (c === OPEN_OBJECT) {
      stack.push({ keys: [], key: '', index: 0, expectKey: true });
    } else if (c === OPEN_ARRAY) {
      stack.push({ keys: null, key: '', index: 0, expectKey: false });
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
    } else if (c === COMMA) {
      const top = stack[stack.length - 1];
      if (top) {
        if (top.keys === null) top.index++;
        else top.expectKey = true;
      }
    }
  }
  return null;
}

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
 * Same answer as findKeyProblem, faster on the usual clean file: a duplicate key is the only way
 * the text can hold more keys (a string closed right before a colon) than the parsed value, so
 * the scanner runs only when the two counts differ, to name the place.
 */
export function findKeyProblemIn(text: string, parsed: unknown): string | null {
  // An escaped quote inside a string (`\":`) is not the end of a key.
  const unescaped = (quote: number): boolean => {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    return backslashes % 2 === 0;
  };
  let keysInText = 0;
  // `":` by indexOf (what every file this tool writes has), then the spaced form by regex:
  // half the time of one /"\s*:/ pass over a 10,000-allocation registry.
  for (let at = text.indexOf('":'); at !== -1; at = text.indexOf('":', at + 2)) if (unescaped(at)) keysInText++;
  SPACED_KEY_END.lastIndex = 0;
  for (let m = SPACED_KEY_END.exec(text); m !== null; m = SPACED_KEY_END.exec(text)) if (unescaped(m.index)) keysInText++;
  return keysInText === countParsedKeys(parsed) ? null : findKeyProblem(text);
}
