import { Injectable } from '@nestjs/common';
import type { User } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import type { RegisterDto } from './dto/register.dto.js';
import { PasswordHasher } from './password-hasher.js';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly passwords: PasswordHasher,
  ) {}

  async register(dto: RegisterDto): Promise<User> {
    const passwordHash = await this.passwords.hash(dto.password);
    return this.users.create({
      email: dto.email,
      passwordHash,
      username: dto.username,
      firstName: dto.firstName,
      lastName: dto.lastName,
    });
  }
}
