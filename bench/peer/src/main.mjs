// The peer of `npm run bench:peer`: a NestJS RealWorld backend on PostgreSQL through TypeORM.
//   PORT, HOST             where it listens (127.0.0.1)
//   PGHOST, PGPORT, PGUSER, PGDATABASE   the database (the bench's throw-away cluster)
//   JWT_SECRET, BCRYPT_COST              as the app under test gets them
import { Controller, Get, Module, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ArticlesController, ArticlesService } from './articles.mjs';
import { AuthMiddleware } from './auth.mjs';
import { decorateClass, decorateMethod } from './decorate.mjs';
import { ENTITIES } from './entities.mjs';
import { UsersController, UsersService } from './users.mjs';

/** What the bench polls until the peer is up (as the app's /health/live). */
class HealthController {
  live() {
    return { status: 'ok' };
  }
}
decorateClass(HealthController, [Controller('health')]);
decorateMethod(HealthController, 'live', [Get('live')]);

class AppModule {
  configure(consumer) {
    consumer.apply(AuthMiddleware).forRoutes(UsersController, ArticlesController);
  }
}
decorateClass(AppModule, [
  Module({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        host: process.env.PGHOST ?? '127.0.0.1',
        port: Number(process.env.PGPORT ?? 5432),
        username: process.env.PGUSER ?? 'postgres',
        database: process.env.PGDATABASE ?? 'peer',
        entities: ENTITIES,
        // The bench's database is new each run: the schema is made from the entities.
        synchronize: true,
        logging: false,
      }),
    ],
    controllers: [HealthController, UsersController, ArticlesController],
    providers: [UsersService, ArticlesService],
  }),
]);

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
app.useGlobalPipes(new ValidationPipe({ whitelist: true }));
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3100), process.env.HOST ?? '127.0.0.1');
