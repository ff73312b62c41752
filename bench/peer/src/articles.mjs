// The article routes the bench compares: the list (anonymous), one article by slug, favorite and
// unfavorite. A favorite is one row in `favorites` and the article's `favoritesCount`, changed in
// one transaction so that the count stays exact under concurrency.
import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Injectable,
  NotFoundException,
  Param,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { CurrentUser, SignedIn } from './auth.mjs';
import { decorateClass, decorateMethod } from './decorate.mjs';
import { Article, Favorite, Follow } from './entities.mjs';

const bounded = (value, fallback, max) => {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, max) : fallback;
};

export class ArticlesService {
  constructor(dataSource) {
    this.dataSource = dataSource;
    this.articles = dataSource.getRepository(Article);
    this.favorites = dataSource.getRepository(Favorite);
    this.follows = dataSource.getRepository(Follow);
  }

  async list(query, viewer) {
    const qb = this.articles.createQueryBuilder('article').leftJoinAndSelect('article.author', 'author');
    if (query.tag) qb.andWhere('article.tagList LIKE :tag', { tag: `%${query.tag}%` });
    if (query.author) qb.andWhere('author.username = :author', { author: query.author });
    qb.orderBy('article.createdAt', 'DESC')
      .limit(bounded(query.limit, 20, 100))
      .offset(bounded(query.offset, 0, 1e9));
    const [articles, articlesCount] = await Promise.all([qb.getMany(), qb.getCount()]);
    const [favorited, following] = await Promise.all([
      this.favoritedAmong(viewer, articles),
      this.followingAmong(
        viewer,
        articles.map((a) => a.authorId),
      ),
    ]);
    return {
      // The RealWorld list leaves out each article's body.
      articles: articles.map(({ body: _body, ...article }) =>
        this.view(article, favorited.has(article.id), following.has(article.authorId)),
      ),
      articlesCount,
    };
  }

  async one(slug, viewer) {
    const article = await this.bySlug(slug);
    const [favorited, following] = await Promise.all([
      this.favoritedAmong(viewer, [article]),
      this.followingAmong(viewer, [article.authorId]),
    ]);
    return { article: this.view(article, favorited.size > 0, following.size > 0) };
  }

  async favorite(slug, viewer, on) {
    const article = await this.bySlug(slug);
    const count = await this.dataSource.transaction(async (manager) => {
      const changed = on
        ? (
            await manager
              .createQueryBuilder()
              .insert()
              .into(Favorite)
              .values({ userId: viewer.id, articleId: article.id })
              .orIgnore()
              .returning(['articleId'])
              .execute()
          ).raw.length > 0
        : ((
            await manager
              .createQueryBuilder()
              .delete()
              .from(Favorite)
              .where({ userId: viewer.id, articleId: article.id })
              .execute()
          ).affected ?? 0) > 0;
      if (!changed) return article.favoritesCount;
      const updated = await manager
        .createQueryBuilder()
        .update(Article)
        .set({ favoritesCount: () => `"favoritesCount" ${on ? '+' : '-'} 1` })
        .where({ id: article.id })
        .returning(['favoritesCount'])
        .execute();
      return updated.raw[0].favoritesCount;
    });
    const following = await this.followingAmong(viewer, [article.authorId]);
    return { article: this.view({ ...article, favoritesCount: count }, on, following.size > 0) };
  }

  async bySlug(slug) {
    const article = await this.articles.findOne({ where: { slug }, relations: { author: true } });
    if (!article) throw new NotFoundException({ errors: { article: ['not found'] } });
    return article;
  }

  async favoritedAmong(viewer, articles) {
    if (!viewer || articles.length === 0) return new Set();
    const rows = await this.favorites.findBy({ userId: viewer.id, articleId: In(articles.map((a) => a.id)) });
    return new Set(rows.map((row) => row.articleId));
  }

  async followingAmong(viewer, authorIds) {
    if (!viewer || authorIds.length === 0) return new Set();
    const rows = await this.follows.findBy({ followerId: viewer.id, followingId: In([...new Set(authorIds)]) });
    return new Set(rows.map((row) => row.followingId));
  }

  view(article, favorited, following) {
    const { author } = article;
    return {
      slug: article.slug,
      title: article.title,
      description: article.description,
      ...(article.body === undefined ? {} : { body: article.body }),
      tagList: article.tagList,
      createdAt: article.createdAt,
      updatedAt: article.updatedAt,
      favorited,
      favoritesCount: article.favoritesCount,
      author: { username: author.username, bio: author.bio, image: author.image, following },
    };
  }
}
decorateClass(ArticlesService, [Injectable()], [DataSource]);

export class ArticlesController {
  constructor(articles) {
    this.articles = articles;
  }

  list(query, viewer) {
    return this.articles.list(query, viewer);
  }

  one(slug, viewer) {
    return this.articles.one(slug, viewer);
  }

  favorite(slug, viewer) {
    return this.articles.favorite(slug, viewer, true);
  }

  unfavorite(slug, viewer) {
    return this.articles.favorite(slug, viewer, false);
  }
}
decorateClass(ArticlesController, [Controller('api/articles')], [ArticlesService]);
decorateMethod(ArticlesController, 'list', [Get()], [Query(), CurrentUser()], [Object, Object]);
decorateMethod(ArticlesController, 'one', [Get(':slug')], [Param('slug'), CurrentUser()], [String, Object]);
decorateMethod(
  ArticlesController,
  'favorite',
  [Post(':slug/favorite'), HttpCode(200), UseGuards(SignedIn)],
  [Param('slug'), CurrentUser()],
  [String, Object],
);
decorateMethod(
  ArticlesController,
  'unfavorite',
  [Delete(':slug/favorite'), UseGuards(SignedIn)],
  [Param('slug'), CurrentUser()],
  [String, Object],
);
