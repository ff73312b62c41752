// The RealWorld data in PostgreSQL, as TypeORM entity schemas (the plain-JavaScript form of
// decorated entity classes): users, articles (tags as a list column, as the NestJS RealWorld
// examples keep them), favorites and follows as join tables.
import { EntitySchema } from 'typeorm';

export const User = new EntitySchema({
  name: 'User',
  tableName: 'users',
  columns: {
    id: { type: 'int', primary: true, generated: 'increment' },
    username: { type: 'varchar', unique: true },
    email: { type: 'varchar', unique: true },
    bio: { type: 'varchar', default: '' },
    image: { type: 'varchar', nullable: true },
    password: { type: 'varchar', select: false },
  },
});

export const Article = new EntitySchema({
  name: 'Article',
  tableName: 'articles',
  columns: {
    id: { type: 'int', primary: true, generated: 'increment' },
    slug: { type: 'varchar', unique: true },
    title: { type: 'varchar' },
    description: { type: 'varchar', default: '' },
    body: { type: 'text', default: '' },
    tagList: { type: 'simple-array' },
    createdAt: { type: 'timestamptz', createDate: true },
    updatedAt: { type: 'timestamptz', updateDate: true },
    favoritesCount: { type: 'int', default: 0 },
    authorId: { type: 'int' },
  },
  relations: {
    author: { type: 'many-to-one', target: 'User', joinColumn: { name: 'authorId' } },
  },
  indices: [{ name: 'IDX_articles_createdAt', columns: ['createdAt'] }],
});

export const Favorite = new EntitySchema({
  name: 'Favorite',
  tableName: 'favorites',
  columns: {
    userId: { type: 'int', primary: true },
    articleId: { type: 'int', primary: true },
  },
});

export const Follow = new EntitySchema({
  name: 'Follow',
  tableName: 'follows',
  columns: {
    followerId: { type: 'int', primary: true },
    followingId: { type: 'int', primary: true },
  },
});

export const Tag = new EntitySchema({
  name: 'Tag',
  tableName: 'tags',
  columns: {
    id: { type: 'int', primary: true, generated: 'increment' },
    name: { type: 'varchar', unique: true },
  },
});

export const ENTITIES = [User, Article, Favorite, Follow, Tag];
