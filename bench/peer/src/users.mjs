// POST /api/users (register) and POST /api/users/login, as RealWorld defines them.
import bcrypt from 'bcrypt';
import { IsEmail, IsNotEmpty, IsString, MinLength } from 'class-validator';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Injectable,
  Post,
  UnprocessableEntityException,
  UseGuards,
} from '@nestjs/common';
import { DataSource, QueryFailedError } from 'typeorm';
import { CurrentUser, SignedIn, signToken } from './auth.mjs';
import { decorateClass, decorateMethod, decorateProperty } from './decorate.mjs';
import { User } from './entities.mjs';

const BCRYPT_COST = Number(process.env.BCRYPT_COST ?? 10);

export class RegisterDto {}
decorateProperty(RegisterDto, 'username', [IsString(), IsNotEmpty()]);
decorateProperty(RegisterDto, 'email', [IsEmail()]);
decorateProperty(RegisterDto, 'password', [IsString(), MinLength(8)]);

export class LoginDto {}
decorateProperty(LoginDto, 'email', [IsEmail()]);
decorateProperty(LoginDto, 'password', [IsString(), IsNotEmpty()]);

const invalid = (errors) => new UnprocessableEntityException({ errors });

export class UsersService {
  constructor(dataSource) {
    this.users = dataSource.getRepository(User);
  }

  async register({ username, email, password }) {
    const taken = await this.users
      .createQueryBuilder('user')
      .where('user.username = :username OR user.email = :email', { username, email })
      .getOne();
    if (taken) throw invalid({ [taken.email === email ? 'email' : 'username']: ['has already been taken'] });
    const hash = await bcrypt.hash(password, BCRYPT_COST);
    try {
      const saved = await this.users.save({ username, email, password: hash, bio: '', image: null });
      return this.answer(saved);
    } catch (error) {
      // Two registrations raced past the check: the unique index decides.
      if (error instanceof QueryFailedError && error.driverError?.code === '23505')
        throw invalid({ 'email or username': ['has already been taken'] });
      throw error;
    }
  }

  async login({ email, password }) {
    const user = await this.users
      .createQueryBuilder('user')
      .addSelect('user.password')
      .where('user.email = :email', { email })
      .getOne();
    if (!user || !(await bcrypt.compare(password, user.password)))
      throw invalid({ 'email or password': ['is invalid'] });
    return this.answer(user);
  }

  answer(user) {
    return {
      user: { email: user.email, token: signToken(user), username: user.username, bio: user.bio, image: user.image },
    };
  }
}
decorateClass(UsersService, [Injectable()], [DataSource]);

export class UsersController {
  constructor(users) {
    this.users = users;
  }

  register(dto) {
    return this.users.register(dto);
  }

  login(dto) {
    return this.users.login(dto);
  }

  current(user) {
    return this.users.answer(user);
  }
}
decorateClass(UsersController, [Controller('api')], [UsersService]);
decorateMethod(UsersController, 'register', [Post('users')], [Body('user')], [RegisterDto]);
decorateMethod(UsersController, 'login', [Post('users/login'), HttpCode(200)], [Body('user')], [LoginDto]);
decorateMethod(UsersController, 'current', [Get('user'), UseGuards(SignedIn)], [CurrentUser()], [Object]);
