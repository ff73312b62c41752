import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { conflict, DomainError, notFound, unprocessable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { assertVersion } from '../common/errors/version-mismatch.js';
import { ID_GENERATOR, type IdGenerator } from '../common/ids.js';
import { SlugService } from '../slugs/slug.service.js';
import { slugify } from '../slugs/slugify.js';
import { CursorCodec } from '../dynamo/cursor.js';
import { drainListing, type Page } from '../dynamo/pagination.js';
import type { TransactOperation } from '../dynamo/transactions.js';
import { CategoriesRepository, type CategoryChanges, type CategoryTreeRead } from './categories.repository.js';
import {
  ancestorsOf,
  buildTree,
  bySortOrderThenName,
  type CategoryNode,
  depthOf,
  isSelfOrDescendant,
  MAX_CATEGORY_DEPTH,
  subtreeHeight,
} from './category-tree.js';
import type { CreateCategoryDto, CreateTagDto, UpdateTagDto } from './dto/taxonomy.dto.js';
import { TagsRepository } from './tags.repository.js';
import type { Category, Tag } from './taxonomy.entity.js';

export interface CategoryDetail {
  category: Category;
  children: Category[];
  ancestors: Category[];
}

export interface CountDrift {
  tagId: string;
  slug: string;
  postCount: number;
  links: number;
}

/** A category deletion that passed its checks: the category as read, its children, where they go. */
export interface CategoryDeletion {
  category: Category;
  children: Category[];
  moveTo?: string;
}

@Injectable()
export class TaxonomyService {
  constructor(
    private readonly categories: CategoriesRepository,
    private readonly tags: TagsRepository,
    private readonly slugs: SlugService,
    private readonly cursors: CursorCodec,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  // --- categories -------------------------------------------------------------------------

  async tree(): Promise<CategoryNode[]> {
    return buildTree(await this.categories.all());
  }

  async categoryBySlug(slug: string): Promise<CategoryDetail> {
    const all = await this.categories.all();
    const category = all.find((c) => c.slug === slug);
    if (!category) throw notFound(ErrorCode.CategoryNotFound, 'No such category.');
    const byId = new Map(all.map((c) => [c.id, c]));
    return {
      category,
      children: all.filter((c) => c.parentId === category.id).sort(bySortOrderThenName),
      ancestors: ancestorsOf(category, byId),
    };
  }

  /**
   * Creates a category. Under a parent it is a tree change: the tree is read (its version, then
   * every category), the parent must exist there (422 unknown_parent) with room below it (422
   * category_too_deep), and the write commits only while the tree is at that version.
   */
  async createCategory(dto: CreateCategoryDto): Promise<Category> {
    let treeVersion: number | undefined;
    if (dto.parentId) {
      const tree = await this.categories.tree();
      const byId = new Map(tree.categories.map((c) => [c.id, c]));
      const parent = this.existingParent(dto.parentId, byId);
      this.assertDepth(depthOf(parent, byId) + 1);
      treeVersion = tree.version;
    }
    return this.createWithSlug(
      'category',
      dto,
      (fresh) => ({
        ...fresh,
        description: dto.description,
        color: dto.color,
        icon: dto.icon,
        sortOrder: dto.sortOrder ?? 0,
        parentId: dto.parentId,
      }),
      (category, claim) => this.categories.create(category, treeVersion, claim),
    );
  }

  /**
   * Changes a category; a change of `parentId` is a tree change: judged (cycle, depth) on one
   * read of the tree and committed only while the tree is at the version read, so two moves that
   * each pass on the same read cannot both commit into a cycle (review 21a M2).
   */
  async updateCategory(id: string, changes: CategoryChanges, ifMatch?: number): Promise<Category> {
    const moving = changes.parentId !== undefined;
    const tree: CategoryTreeRead = moving
      ? await this.categories.tree()
      : { version: 0, categories: await this.categories.all() };
    const byId = new Map(tree.categories.map((c) => [c.id, c]));
    const current = byId.get(id);
    if (!current) throw notFound(ErrorCode.CategoryNotFound, 'No such category.');
    assertVersion(ifMatch, current.version);
    if (changes.parentId) {
      const newParent = this.existingParent(changes.parentId, byId);
      if (isSelfOrDescendant(changes.parentId, id, byId)) {
        throw conflict(ErrorCode.CategoryCycle, 'A category cannot move under itself or one of its descendants.');
      }
      this.assertDepth(depthOf(newParent, byId) + subtreeHeight(id, tree.categories));
    }
    await this.movingSlug('category', current, changes.slug, (parts) =>
      this.categories.update(current, changes, moving ? tree.version : undefined, parts),
    );
    return (await this.categories.findById(id))!;
  }

  /**
   * Checks that a category may be deleted, before anything moves. With children or published
   * posts it is refused (409 category_not_empty) unless `moveTo` names where they go, which must
   * exist and lie outside the deleted category's subtree. The posts are the posts module's to
   * move (the category deletion workflow does it); then `deleteCategory` finishes.
   */
  async categoryDeletion(id: string, moveTo?: string): Promise<CategoryDeletion> {
    return this.checkedDeletion(await this.categories.tree(), id, moveTo);
  }

  /**
   * Deletes a checked category, with its children re-parented, in one transaction that also
   * requires its post count to be zero by then (its posts moved first). The checks run again on
   * the tree as it is now, and the transaction commits only while the tree is at that version: a
   * move of `moveTo` under the deleted category's subtree, or a category created or moved under
   * it, while the posts moved is seen here (409) or loses the race (412) (review 21a M1, L1).
   */
  async deleteCategory({ category, moveTo }: CategoryDeletion): Promise<void> {
    const tree = await this.categories.tree();
    const { category: current, children } = this.checkedDeletion(tree, category.id, moveTo);
    await this.releasingSlug('category', current, (part) =>
      this.categories.delete(current, children, moveTo, tree.version, part),
    );
  }

  private checkedDeletion(tree: CategoryTreeRead, id: string, moveTo?: string): CategoryDeletion {
    const byId = new Map(tree.categories.map((c) => [c.id, c]));
    const current = byId.get(id);
    if (!current) throw notFound(ErrorCode.CategoryNotFound, 'No such category.');
    const children = tree.categories.filter((c) => c.parentId === id);
    if ((children.length > 0 || current.postCount > 0) && !moveTo) {
      throw conflict(
        ErrorCode.CategoryNotEmpty,
        'The category has children or posts; name a category to move them to (moveTo).',
      );
    }
    if (moveTo) {
      const target = this.existingParent(moveTo, byId);
      if (isSelfOrDescendant(moveTo, id, byId)) {
        throw conflict(ErrorCode.CategoryCycle, 'Children cannot move under the deleted category or its descendants.');
      }
      const depth = depthOf(target, byId);
      for (const child of children) this.assertDepth(depth + subtreeHeight(child.id, tree.categories));
    }
    return { category: current, children, moveTo };
  }

  private existingParent(parentId: string, byId: Map<string, Category>): Category {
    const parent = byId.get(parentId);
    if (!parent) {
      throw unprocessable(ErrorCode.UnknownParent, `Category ${parentId} does not exist.`, { invalidIds: [parentId] });
    }
    return parent;
  }

  private assertDepth(depth: number): void {
    if (depth > MAX_CATEGORY_DEPTH) {
      throw unprocessable(
        ErrorCode.CategoryTooDeep,
        `Categories nest at most ${MAX_CATEGORY_DEPTH} levels deep; this change would make ${depth}.`,
      );
    }
  }

  // --- tags -------------------------------------------------------------------------------

  listTags(sort: 'name' | 'popular', limit: number, cursor?: string): Promise<Page<Tag>> {
    return this.tags.list(this.cursors, sort, limit, cursor);
  }

  async tagBySlug(slug: string): Promise<Tag> {
    const tagId = await this.slugs.ownerOf('tag', slug);
    const tag = tagId ? await this.tags.findById(tagId) : undefined;
    if (!tag) throw notFound(ErrorCode.TagNotFound, 'No such tag.');
    return tag;
  }

  /** Several tags by id: one BatchGetItem (the names of a page of posts' tags). */
  tagsByIds(tagIds: string[]): Promise<Tag[]> {
    return this.tags.findMany([...new Set(tagIds)]);
  }

  /**
   * The tags these names denote (by the slug of each name), creating those that do not exist:
   * what the Conduit API's `tagList` means (docs/conduit.md). Cost: one strongly consistent GetItem
   * per name (the slug's owner), one transaction and one GetItem per new tag. Concurrent creations of
   * one name meet at its slug's uniqueness item: the loser reads the winner's tag. `beforeCreating`
   * is called with the number of names that are new, only when there is at least one and before any
   * is created: a refusal there (a limit) creates none.
   */
  async tagsNamed(names: string[], beforeCreating?: (newTags: number) => Promise<void>): Promise<Tag[]> {
    const bySlug = new Map<string, string>();
    for (const name of names) {
      const slug = slugify(name);
      if (!slug) throw unprocessable(ErrorCode.ValidationFailed, `The tag "${name}" has no letters or digits.`);
      if (!bySlug.has(slug)) bySlug.set(slug, name.trim());
    }
    const owners = await Promise.all([...bySlug.keys()].map((slug) => this.slugs.ownerOf('tag', slug)));
    const newTags = owners.filter((owner) => !owner).length;
    if (newTags > 0 && beforeCreating) await beforeCreating(newTags);
    return Promise.all(
      [...bySlug].map(async ([slug, name], i) => {
        const existing = owners[i];
        if (existing) return (await this.tags.findById(existing)) ?? this.tagBySlug(slug);
        try {
          return await this.createTag({ name, slug });
        } catch (error) {
          if (!(error instanceof DomainError && error.code === ErrorCode.SlugTaken)) throw error;
          return this.tagBySlug(slug);
        }
      }),
    );
  }

  createTag(dto: CreateTagDto): Promise<Tag> {
    return this.createWithSlug(
      'tag',
      dto,
      (fresh) => ({ ...fresh, description: dto.description, color: dto.color }),
      (tag, claim) => this.tags.create(tag, claim),
    );
  }

  async updateTag(id: string, dto: UpdateTagDto, ifMatch?: number): Promise<Tag> {
    const current = await this.tags.findById(id);
    if (!current) throw notFound(ErrorCode.TagNotFound, 'No such tag.');
    assertVersion(ifMatch, current.version);
    await this.movingSlug('tag', current, dto.slug, (parts) => this.tags.update(current, { ...dto }, parts));
    return (await this.tags.findById(id))!;
  }

  async deleteTag(id: string): Promise<void> {
    const current = await this.tags.findById(id);
    if (!current) throw notFound(ErrorCode.TagNotFound, 'No such tag.');
    if (current.postCount > 0)
      throw conflict(ErrorCode.TagInUse, 'The tag is on published posts; remove it from them first.');
    await this.releasingSlug('tag', current, (part) => this.tags.delete(current, part));
  }

  /**
   * Creates a tag or category: a new id, the clock, the explicit slug or one generated from the
   * name (the slug service retries a generated one that is taken), written with the slug's claim.
   */
  private async createWithSlug<T extends Tag | Category>(
    kind: 'tag' | 'category',
    dto: { name: string; slug?: string },
    build: (fresh: Pick<T, 'id' | 'name' | 'slug' | 'postCount' | 'createdAt' | 'updatedAt' | 'version'>) => T,
    write: (created: T, claim: TransactOperation) => Promise<void>,
  ): Promise<T> {
    const now = this.clock.now().toISOString();
    const id = this.ids.next();
    let created: T | undefined;
    await this.slugs.withSlug(kind, dto.slug, dto.name, async (slug) => {
      created = build({ id, name: dto.name, slug, postCount: 0, createdAt: now, updatedAt: now, version: 1 });
      await write(created, this.slugs.claim(kind, slug, id));
    });
    return created!;
  }

  /**
   * Runs `write` with the parts that move `owner` to slug `to` (none when unchanged), then drops the
   * old slug from this instance's cache: only after the commit, since a feed request in between would
   * cache the old owner again, and a failed write leaves the old slug owned.
   */
  private async movingSlug(
    kind: 'tag' | 'category',
    owner: { id: string; slug: string },
    to: string | undefined,
    write: (parts: TransactOperation[]) => Promise<void>,
  ): Promise<void> {
    await write(this.slugs.swap(kind, owner.slug, to, owner.id));
    if (to && to !== owner.slug) this.slugs.forget(kind, owner.slug);
  }

  /** Runs `write` with the part that releases `owner`'s slug, then forgets the slug (after the commit, as above). */
  private async releasingSlug(
    kind: 'tag' | 'category',
    owner: { id: string; slug: string },
    write: (part: TransactOperation) => Promise<void>,
  ): Promise<void> {
    await write(this.slugs.release(kind, owner.slug, owner.id));
    this.slugs.forget(kind, owner.slug);
  }

  /**
   * Recounts every tag's post links and reports tags whose `postCount` differs (admin
   * tooling and tests; it reads every tag, so it is not a request path).
   */
  async tagCountDrift(): Promise<CountDrift[]> {
    const drift: CountDrift[] = [];
    await drainListing(
      (cursor) => this.tags.list(this.cursors, 'name', 100, cursor),
      async (tag) => {
        const links = await this.tags.countLinks(tag.id);
        if (links !== tag.postCount) drift.push({ tagId: tag.id, slug: tag.slug, postCount: tag.postCount, links });
      },
    );
    return drift;
  }
}
