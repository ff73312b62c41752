import { ConduitArticlesController } from '../conduit/conduit-articles.controller.js';
import { PostsController } from '../posts/posts.controller.js';
import { CategoriesController } from '../taxonomy/categories.controller.js';
import { readsNoToken } from './auth.decorators.js';

const handlerOf = (controller: { prototype: object }, name: string): object =>
  Object.getOwnPropertyDescriptor(controller.prototype, name)?.value as object;

describe('readsNoToken', () => {
  it('is true for a @Public() route with no guard of its own (the category tree)', () => {
    expect(readsNoToken(handlerOf(CategoriesController, 'tree'), CategoriesController)).toBe(true);
  });

  it('is true for the @Public() feed, and false for an @OptionalAuth() route, whose answer depends on the caller (one post)', () => {
    expect(readsNoToken(handlerOf(PostsController, 'feed'), PostsController)).toBe(true);
    expect(readsNoToken(handlerOf(PostsController, 'get'), PostsController)).toBe(false);
  });

  it('is false for a route public to the global guard that authenticates with its own (Conduit, review 17a M1)', () => {
    expect(readsNoToken(handlerOf(ConduitArticlesController, 'get'), ConduitArticlesController)).toBe(false);
  });
});
