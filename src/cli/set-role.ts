import { existsSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module.js';
import { loadConfig } from '../config/app-config.js';
import { prepareDatabase } from '../dynamo/database-bootstrap.js';
import { USER_ROLES, type UserRole } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';

/**
 * `npm run user:role -- <email> <user|moderator|admin>`: sets the role of an existing account
 * (making an admin active too). Works against the embedded engine, DYNAMODB_ENDPOINT or AWS,
 * as configured; this is how the first admin is made without ADMIN_EMAIL/ADMIN_PASSWORD.
 */
async function main(): Promise<void> {
  const [email, role] = process.argv.slice(2);
  if (!email || !role || !(USER_ROLES as readonly string[]).includes(role)) {
    console.error(`usage: npm run user:role -- <email> <${USER_ROLES.join('|')}>`);
    process.exit(2);
  }
  if (existsSync('.env')) process.loadEnvFile('.env');
  const database = await prepareDatabase(loadConfig());
  const context = await NestFactory.createApplicationContext(AppModule.forRoot(database.config), { logger: ['error'] });
  try {
    const user = await context.get(UsersService).setRoleByEmail(email.trim().toLowerCase(), role as UserRole);
    console.log(`${user.email} is now ${user.role} (${user.status})`);
  } finally {
    await context.close();
    await database.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
