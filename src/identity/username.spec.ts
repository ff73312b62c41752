import { RandomIds, SequentialIds } from '../common/ids.js';
import { isReservedUsername, unreserved, USERNAME_PATTERN, usernameFromEmail, withRandomSuffix } from './username.js';

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

describe('reserved usernames (review 22 M: admin1 was free)', () => {
  it.each([
    'admin',
    'deleted-user',
    'nobody-abc',
    'admin1',
    'admin_',
    'admin-2024',
    'admin__01',
    'support-2',
    'support-team',
    'staff_picks',
    'security-alerts',
    'moderator-bob',
    'administrator9',
    'deleted_user',
    'deleted-user-2',
    'nobody_abc',
  ])('%s is reserved', (username) => {
    expect(isReservedUsername(username)).toBe(true);
  });

  it.each([
    'adminton',
    'staffan',
    'securityguy',
    'supporter',
    'the-admin',
    'ada',
    'deleted',
    'user-admin',
    'demo_admin',
  ])('%s is free', (username) => {
    expect(isReservedUsername(username)).toBe(false);
  });

  it('a reserved derived name made free stays a valid username that is not reserved', () => {
    for (const name of ['admin', 'support-team', 'deleted-user', 'nobody-abcdefghijklmnopqrstuvw', 'a'.repeat(24)]) {
      const free = unreserved(name);
      expect(free).toMatch(USERNAME_PATTERN);
      expect(isReservedUsername(free)).toBe(false);
    }
  });
});
