import { Module } from '@nestjs/common';
import { SessionsRepository } from './sessions.repository.js';

/** Session storage, shared by auth (sign-in, refresh) and users (suspension, deletion revoke sessions). */
@Module({ providers: [SessionsRepository], exports: [SessionsRepository] })
export class SessionsModule {}
