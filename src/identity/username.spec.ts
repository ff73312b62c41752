import { RandomIds, SequentialIds } from '../common/ids.js';
import { USERNAME_PATTERN, usernameFromEmail, withRandomSuffix } from './username.js';

const ids = new RandomIds();

describe('usernameFromEmail', () => {
  it.each([
    ['ada@example.com', 'ada'],
    ['Ada.Lovelace+news@example.com', 'ada-lovelace-news'],
    ['José.Núñez@example.com', 'jose-nunez'],
    ['--x__@example.com', 'user-x'],
    ['a-very-long-local-part-that-goes-on-and-on@example.com', 'a-very-long-local-part-t'],
  ])('%s -> %s', (email, expected) => {
    expect(usernameFromEmail(email, ids)).toBe(expected);
    expect(usernameFromEmail(email, ids)).toMatch(USERNAME_PATTERN);
  });

  it('always yields a valid username', () => {
    for (const email of ['@x.com', '本@example.com', '!!!@x.com', 'ab@x.com']) {
      expect(usernameFromEmail(email, ids)).toMatch(USERNAME_PATTERN);
      expect(withRandomSuffix(usernameFromEmail(email, ids), ids)).toMatch(USERNAME_PATTERN);
    }
  });
});

describe('usernameFromEmail edge cases', () => {
  it.each([
    ['a--b.c@example.com', 'a-b-c'],
    ['__abc__@example.com', 'abc'],
    ['abcdefghijklmnopqrstuvw-xyz@example.com', 'abcdefghijklmnopqrstuvw'],
  ])('%s -> %s', (email, expected) => {
    expect(usernameFromEmail(email, ids)).toBe(expected);
  });

  it('gives an empty local part a numbered name, and a short one a prefix', () => {
    expect(usernameFromEmail('@example.com', ids)).toMatch(/^user\d{4}$/);
    expect(usernameFromEmail('ab@example.com', ids)).toBe('user-ab');
  });

  it('keeps a suffixed name within 30 characters', () => {
    expect(withRandomSuffix('a'.repeat(30), ids)).toMatch(/^a{25}-\d{4}$/);
    expect(withRandomSuffix('ada', ids)).toMatch(/^ada-\d{4}$/);
  });
});

describe('the suffix comes from the injected id generator', () => {
  it('so a spec can predict it', () => {
    const sequential = new SequentialIds();
    expect(withRandomSuffix('ada', sequential)).toBe('ada-0001');
    expect(usernameFromEmail('@example.com', sequential)).toBe('user0002');
  });
});
