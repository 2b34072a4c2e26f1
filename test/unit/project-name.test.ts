import { COMPOSE_PROJECT_NAME, composeProjectName } from '../../src/core/project-name';

describe('composeProjectName', () => {
  it.each<[string, [string, string, boolean, string?], string | RegExp]>([
    ['main worktree: the repository name', ['myrepo', 'myrepo', true], 'myrepo'],
    ['linked worktree: repo and worktree', ['myrepo', 'feature-x', false], 'myrepo-feature-x'],
    ['lowercased', ['MyRepo', 'Feature-X', false], 'myrepo-feature-x'],
    ['other characters become one dash', ['my.repo', 'feat/a b..c', false], 'my-repo-feat-a-b-c'],
    ['underscores kept', ['my_repo', 'wt_1', false], 'my_repo-wt_1'],
    ['leading punctuation trimmed so it starts with a letter or digit', ['.hidden', '--wt', false], 'hidden-wt'],
    ['the repo prefix is not dropped from a worktree named myrepo-x', ['myrepo', 'myrepo-x', false], 'myrepo-myrepo-x'],
    ['a linked worktree named like the repo never takes the main name', ['myrepo', 'myrepo', false], /^myrepo-[0-9a-f]{6}$/],
    ['a name with no usable character', ['日本', 'ñ', false], /^x[0-9a-f]{6}-x[0-9a-f]{6}$/],
    ['with a path: a hash of it appended', ['myrepo', 'wt', false, '/a/wt'], /^myrepo-wt-[0-9a-f]{6}$/],
  ])('%s', (_label, args, expected) => {
    const name = composeProjectName(...args);
    if (typeof expected === 'string') expect(name).toBe(expected);
    else expect(name).toMatch(expected);
    expect(name).toMatch(COMPOSE_PROJECT_NAME);
  });

  // Names computed by earlier versions: a container stack started with one must be found again.
  it.each<[[string, string, boolean, string?], string]>([
    [['myrepo', 'wt', false, '/home/dev/myrepo-wt/wt'], 'myrepo-wt-e62572'],
    [['myrepo', 'myrepo', false, '/x/myrepo'], 'myrepo-cd6ca9'],
    [['日本', 'ñ', false], 'xcf2abf-x024bb9'],
    [['repo', 'a'.repeat(80), false], `repo-${'a'.repeat(49)}-4311d1e0`],
  ])('keeps the hashed name of %j unchanged', (args, expected) => {
    expect(composeProjectName(...args)).toBe(expected);
  });

  it('is distinct for worktrees of the same name in different folders when given their paths', () => {
    const a = composeProjectName('repo', 'feature', false, '/work/a/feature');
    const b = composeProjectName('repo', 'feature', false, '/work/b/feature');
    expect(a).not.toBe(b);
    expect(a).toBe(composeProjectName('repo', 'feature', false, '/work/a/feature'));
  });

  it('is distinct for a linked worktree named like the repo in two folders', () => {
    expect(composeProjectName('repo', 'repo', false, '/x/repo')).not.toBe(composeProjectName('repo', 'repo', false, '/y/repo'));
  });

  it('never exceeds 63 characters and stays distinct when cut', () => {
    const long = 'a'.repeat(80);
    const one = composeProjectName('repo', `${long}1`, false);
    const two = composeProjectName('repo', `${long}2`, false);
    expect(one.length).toBeLessThanOrEqual(63);
    expect(one).toMatch(COMPOSE_PROJECT_NAME);
    expect(one).not.toBe(two);
  });

  it('gives different worktrees of one repository different names', () => {
    const names = ['main', 'feature-a', 'feature-b', 'fix_1', 'Release-2'].map((wt) => composeProjectName('repo', wt, false));
    expect(new Set([...names, composeProjectName('repo', 'repo', true)]).size).toBe(names.length + 1);
  });
});
