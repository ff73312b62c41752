import { USER_ROLES, type UserRole } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import { failCommand, runWithAppContext } from './app-context.js';

/**
 * `npm run user:role -- <email> <user|moderator|admin>`: sets the role of an existing account
 * (making an admin active too). Works against the embedded engine, DYNAMODB_ENDPOINT or AWS,
 * as configured; this is how the first admin is made without ADMIN_EMAIL/ADMIN_PASSWORD.
 */
const [email, role] = process.argv.slice(2);
if (!email || !role || !(USER_ROLES as readonly string[]).includes(role)) {
  console.error(`usage: npm run user:role -- <email> <${USER_ROLES.join('|')}>`);
  process.exit(2);
}

runWithAppContext(async (context) => {
  const { user, unverifiedStaff, retiredReverts } = await context
    .get(UsersService)
    .setRoleByEmail(email.trim().toLowerCase(), role as UserRole);
  if (unverifiedStaff) {
    console.warn(
      `WARNING: ${user.email} has not verified its email address. Whoever registered it now has ${user.role} rights; ` +
        'make sure the account is yours (or use ADMIN_EMAIL/ADMIN_PASSWORD, which takes the account over).',
    );
  }
  if (retiredReverts.length > 0) {
    console.warn(
      `WARNING: ${user.email} had moved away from ${retiredReverts.join(', ')} within the undo window; ` +
        "those undo links no longer work and the addresses are free again. If the move was not its owner's, " +
        'the account may not be who you think it is.',
    );
  }
  console.log(`${user.email} is now ${user.role} (${user.status})`);
}).catch(failCommand);
