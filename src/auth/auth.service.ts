import { Inject, Injectable, Logger } from '@nestjs/common';
import { forbidden, notFound, unauthorized, badRequest } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { newId } from '../common/ids.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import type { User, UserWithPassword } from '../users/user.entity.js';
import { UsersRepository } from '../users/users.repository.js';
import { UsersService } from '../users/users.service.js';
import type { RegisterDto } from './dto/register.dto.js';
import { LoginRateLimiter } from './login-rate-limiter.js';
import { PasswordHasher } from '../users/password-hasher.js';
import { SecurityNotices } from '../mail/security-notices.js';
import type { Session } from './sessions/session.entity.js';
import { SessionsRepository } from './sessions/sessions.repository.js';
import { ActionLinksService } from './action-links/action-links.service.js';
import { TokenService } from './tokens/token.service.js';

/** Where a sign-in comes from, kept on the session so users can tell their devices apart. */
export interface ClientInfo {
  ip?: string;
  userAgent?: string;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: User;
}

const logger = new Logger('AuthService');
const withoutPassword = ({ passwordHash: _hash, ...user }: UserWithPassword): User => user;

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly usersRepository: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly actionLinks: ActionLinksService,
    private readonly notices: SecurityNotices,
    private readonly passwords: PasswordHasher,
    private readonly tokens: TokenService,
    private readonly rateLimiter: LoginRateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Creates the account and its first session in one transaction. */
  async register(dto: RegisterDto, client: ClientInfo): Promise<IssuedTokens> {
    const { email, username, firstName, lastName } = dto;
    const hash = await this.passwords.hash(dto.password);
    let issued: { session: Session; refreshToken: string } | undefined;
    const user = await this.users.create({ email, username, firstName, lastName, passwordHash: hash }, (created) => {
      issued = this.newSession(created.id, client);
      return [this.sessions.putItem(issued.session)];
    });
    // The account exists whatever happens to the mail; the user can ask for another link.
    await this.actionLinks
      .send('email_verification', user)
      .catch((error: unknown) => logger.warn(`Verification mail failed: ${String(error)}`));
    return this.issue(user, issued!.session, issued!.refreshToken);
  }

  /**
   * Rate limit first, then the same bcrypt work whether or not the email exists, and one
   * answer (401 invalid_credentials) for an unknown email and a wrong password alike.
   */
  async login(email: string, password: string, client: ClientInfo): Promise<IssuedTokens> {
    await this.rateLimiter.hit(email, client.ip ?? 'unknown');
    const userId = await this.usersRepository.findIdByEmail(email);
    const user = userId ? await this.usersRepository.findWithPassword(userId) : undefined;
    const valid = await this.passwords.verify(password, user?.passwordHash);
    if (!user || !valid) throw unauthorized(ErrorCode.InvalidCredentials, 'The email or password is wrong.');
    this.assertMaySignIn(user);

    const { session, refreshToken } = this.newSession(user.id, client);
    await this.sessions.createWithLogin(session, this.usersRepository.recordLoginItem(user.id, session.createdAt));
    return this.issue(
      { ...withoutPassword(user), lastLoginAt: session.createdAt, loginCount: user.loginCount + 1 },
      session,
      refreshToken,
    );
  }

  /**
   * Exchanges a refresh token for a new pair. The rotation is one conditional write, so only
   * one of any number of concurrent refreshes with a token wins. A token that was already
   * rotated out is reuse (a stolen token, or a client bug): the whole session is revoked.
   */
  async refresh(refreshToken: string): Promise<IssuedTokens> {
    const invalid = () => unauthorized(ErrorCode.InvalidRefreshToken, 'The refresh token is invalid or expired.');
    const parsed = this.tokens.parseRefreshToken(refreshToken);
    if (!parsed) throw invalid();
    const { session, user } = await this.sessions.findWithUser(parsed.userId, parsed.sessionId);
    if (!session || !user) throw invalid();
    if (session.refreshTokenHash !== parsed.hash) {
      if (session.previousTokenHashes.includes(parsed.hash)) {
        await this.sessions.revoke(session.userId, session.id);
        throw unauthorized(
          ErrorCode.RefreshTokenReused,
          'This refresh token was already used; the session is revoked.',
        );
      }
      throw invalid();
    }
    this.assertMaySignIn(user);

    const now = new Date();
    const next = this.tokens.newRefreshToken(session.userId, session.id);
    const expiresAt = new Date(now.getTime() + this.config.auth.refreshTokenTtlSeconds * 1000).toISOString();
    const rotated = await this.sessions.rotate(session, parsed.hash, {
      hash: next.hash,
      expiresAt,
      usedAt: now.toISOString(),
    });
    if (!rotated) {
      // Another request rotated this token first: the same token was presented twice.
      await this.sessions.revoke(session.userId, session.id);
      throw unauthorized(ErrorCode.RefreshTokenReused, 'This refresh token was already used; the session is revoked.');
    }
    return this.issue(withoutPassword(user), { ...session, expiresAt }, next.token);
  }

  async logout(userId: string, sessionId: string): Promise<void> {
    await this.sessions.revoke(userId, sessionId);
  }

  async logoutAll(userId: string): Promise<void> {
    await this.sessions.revokeAll(userId);
  }

  listSessions(userId: string): Promise<Session[]> {
    return this.sessions.listForUser(userId);
  }

  /** Revokes one of the caller's sessions; another user's session id is simply not found. */
  async revokeSession(userId: string, sessionId: string): Promise<void> {
    if (!(await this.sessions.revoke(userId, sessionId))) {
      throw notFound(ErrorCode.SessionNotFound, 'You have no session with this id.');
    }
  }

  /** Changes the password and signs out every other device. */
  async changePassword(userId: string, sessionId: string, current: string, next: string): Promise<void> {
    const user = await this.usersRepository.findWithPassword(userId);
    if (!user || !(await this.passwords.verify(current, user.passwordHash))) {
      throw forbidden(ErrorCode.WrongPassword, 'The current password is wrong.');
    }
    await this.usersRepository.setPassword(userId, await this.passwords.hash(next), new Date().toISOString());
    await this.sessions.revokeAll(userId, sessionId);
    this.notices.passwordChanged(user.email);
  }

  /** Sends a reset link when the email is registered; the caller cannot tell either way. */
  async requestPasswordReset(email: string): Promise<void> {
    const user = await this.findByEmail(email);
    if (!user || user.status === 'inactive') return;
    await this.actionLinks.send('password_reset', user);
  }

  /** Sets the new password and revokes every session: whoever had the old one is signed out. */
  async confirmPasswordReset(token: string, newPassword: string): Promise<void> {
    const consumed = await this.actionLinks.consume(token, 'password_reset');
    if (!consumed) throw badRequest(ErrorCode.InvalidActionToken, 'The link is invalid, used or expired.');
    const passwordHash = await this.passwords.hash(newPassword);
    await this.usersRepository.setPassword(consumed.userId, passwordHash, new Date().toISOString());
    await this.sessions.revokeAll(consumed.userId);
    this.notices.passwordChanged(consumed.email);
  }

  async requestEmailVerification(email: string): Promise<void> {
    const user = await this.findByEmail(email);
    if (!user || user.emailVerified || user.status === 'inactive') return;
    await this.actionLinks.send('email_verification', user);
  }

  async confirmEmailVerification(token: string): Promise<void> {
    const invalid = () => badRequest(ErrorCode.InvalidActionToken, 'The link is invalid, used or expired.');
    const consumed = await this.actionLinks.consume(token, 'email_verification');
    if (!consumed) throw invalid();
    const user = await this.usersRepository.findById(consumed.userId);
    if (!user) throw invalid();
    const verified = await this.usersRepository.markEmailVerified(user, consumed.email, new Date().toISOString());
    if (!verified) throw invalid();
  }

  private async findByEmail(email: string): Promise<User | undefined> {
    const userId = await this.usersRepository.findIdByEmail(email);
    return userId ? this.usersRepository.findById(userId) : undefined;
  }

  private assertMaySignIn(user: User): void {
    if (user.status === 'suspended') throw forbidden(ErrorCode.AccountSuspended, 'The account is suspended.');
    if (user.status === 'inactive') throw forbidden(ErrorCode.AccountInactive, 'The account is deactivated.');
  }

  private newSession(userId: string, client: ClientInfo): { session: Session; refreshToken: string } {
    const sessionId = newId();
    const { token, hash } = this.tokens.newRefreshToken(userId, sessionId);
    const now = new Date();
    return {
      refreshToken: token,
      session: {
        id: sessionId,
        userId,
        userAgent: client.userAgent?.slice(0, 256),
        ip: client.ip,
        createdAt: now.toISOString(),
        lastUsedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + this.config.auth.refreshTokenTtlSeconds * 1000).toISOString(),
        refreshTokenHash: hash,
        previousTokenHashes: [],
        generation: 0,
      },
    };
  }

  private async issue(user: User, session: Session, refreshToken: string): Promise<IssuedTokens> {
    const accessToken = await this.tokens.signAccessToken({ sub: user.id, sid: session.id, role: user.role });
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: this.tokens.accessTokenTtlSeconds, user };
  }
}
