import { jest } from '@jest/globals';
import { type ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { getMetadataStorage, IsInt, IsString, MetadataStorage, validate, ValidateBy } from 'class-validator';
import { DomainError } from '../errors/domain-error.js';
import { IdParams } from '../dto/id-params.dto.js';
import { NoQueryDto } from '../dto/no-query.dto.js';
import { PageQueryDto } from '../dto/page-query.dto.js';
import { CreatePostDto, FeedQueryDto } from '../../posts/dto/post.dto.js';
import { CreateCommentDto } from '../../comments/dto/comment.dto.js';
import {
  ConduitNewArticleDto,
  ConduitNewCommentDto,
  ConduitUpdateUserDto,
  ConduitUserChangesDto,
} from '../../conduit/dto/conduit.dto.js';
import { RegisterDto } from '../../users/dto/register.dto.js';
import { UpdateMeDto, UpdateProfileDto } from '../../users/dto/update-user.dto.js';
import { CreateCategoryDto, CreateTagDto, UpdateTagDto } from '../../taxonomy/dto/taxonomy.dto.js';
import { createValidationPipe, memoiseValidationMetadata } from './validation.js';

class Base {
  @IsString()
  name!: string;
}

class Derived extends Base {
  @IsInt()
  count!: number;
}

/** class-validator's own lookup, without the memo. */
const unmemoised = (target: typeof Base) =>
  MetadataStorage.prototype.getTargetValidationMetadatas.call(getMetadataStorage(), target, '', false, false);

describe('memoiseValidationMetadata', () => {
  beforeAll(() => memoiseValidationMetadata());

  it("answers a class's rules, inherited ones included, as class-validator does, and once per class", () => {
    const storage = getMetadataStorage();
    const first = storage.getTargetValidationMetadatas(Derived, '', false, false);
    expect(first).toEqual(unmemoised(Derived));
    expect(first.map((rule) => rule.propertyName).sort()).toEqual(['count', 'name']);
    // The same array: the lookup (a scan of every decorated class) ran once.
    expect(storage.getTargetValidationMetadatas(Derived, '', false, false)).toBe(first);
  });

  it('sees rules added after a lookup: on the class itself, and on a class defined later', async () => {
    const storage = getMetadataStorage();
    storage.getTargetValidationMetadatas(Base, '', false, false);
    // A decorator applied now, as when a module with a DTO is imported after the first request.
    IsString()(Base.prototype, 'late');
    expect(storage.getTargetValidationMetadatas(Base, '', false, false).map((rule) => rule.propertyName)).toContain(
      'late',
    );
    class Later extends Base {
      @IsInt()
      extra!: number;
    }
    expect(storage.getTargetValidationMetadatas(Later, '', false, false)).toEqual(unmemoised(Later));
    const errors = await validate(Object.assign(new Later(), { name: 'a', late: 1, extra: 'x' }));
    expect(errors.map((error) => error.property).sort()).toEqual(['extra', 'late']);
  });

  it('is installed once per storage', () => {
    const storage = getMetadataStorage();
    const installed = () => Object.getOwnPropertyDescriptor(storage, 'getTargetValidationMetadatas')?.value as unknown;
    const memoised = installed();
    memoiseValidationMetadata();
    expect(memoised).toBeDefined();
    expect(installed()).toBe(memoised);
  });
});

describe('createValidationPipe on { id } path parameters', () => {
  const pipe = createValidationPipe();
  const asParams = { type: 'param', metatype: IdParams } as const;
  const validId = 'V1StGXR8_Z5jdHi6B-myT';

  afterEach(() => jest.restoreAllMocks());

  it('makes a valid id the DTO without running class-validator', async () => {
    const validate = jest.spyOn(ValidationPipe.prototype as unknown as { validate: () => unknown }, 'validate');
    const params = await pipe.transform({ id: validId }, asParams);
    expect(params).toBeInstanceOf(IdParams);
    expect(params).toEqual({ id: validId });
    expect(validate).not.toHaveBeenCalled();
  });

  it('answers a wrong id or another key with the validation problem, as before', async () => {
    for (const value of [{ id: 'short' }, { id: `${validId}x` }, { id: validId, extra: '1' }]) {
      const error = await pipe.transform(value, asParams).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
    }
  });
});

describe('createValidationPipe on ?limit=&cursor= queries', () => {
  const pipe = createValidationPipe();
  /** What the pipe answers without the shortcut: ValidationPipe's own transform on the same pipe. */
  const viaValidator = (value: object, metadata: ArgumentMetadata) =>
    (ValidationPipe.prototype.transform as (v: unknown, m: ArgumentMetadata) => Promise<unknown>).call(
      pipe,
      value,
      metadata,
    );
  const outcome = (promise: Promise<unknown>) =>
    promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error: (error as DomainError).code }),
    );

  afterEach(() => jest.restoreAllMocks());

  it.each([PageQueryDto, FeedQueryDto])(
    'makes a plain page query the %p without class-validator, as the validator would',
    async (metatype) => {
      const metadata = { type: 'query', metatype } as const;
      for (const value of [
        {},
        { limit: '20' },
        { limit: '1' },
        { limit: '100' },
        { cursor: '' },
        { limit: '7', cursor: 'x'.repeat(2048) },
      ]) {
        const expected = await viaValidator({ ...value }, metadata);
        const validate = jest.spyOn(ValidationPipe.prototype as unknown as { validate: () => unknown }, 'validate');
        const query = await pipe.transform({ ...value }, metadata);
        expect(validate).not.toHaveBeenCalled();
        expect(query).toBeInstanceOf(metatype);
        expect(query).toStrictEqual(expected);
        validate.mockRestore();
      }
    },
  );

  it('leaves every other query to class-validator, which answers as before', async () => {
    const values = [
      { limit: '0' },
      { limit: '101' },
      { limit: '999' },
      { limit: '020' },
      { limit: '1.5' },
      { limit: ' 20' },
      { limit: '0x10' },
      { limit: ['1', '2'] },
      { cursor: ['a', 'b'] },
      { cursor: 'x'.repeat(2049) },
      { limit: '20', extra: '1' },
      { tag: 'nestjs' },
      { limit: '20', author: 'short' },
    ];
    for (const metatype of [PageQueryDto, FeedQueryDto]) {
      const metadata = { type: 'query', metatype } as const;
      for (const value of values) {
        const expected = await outcome(viaValidator({ ...value }, metadata));
        const validate = jest.spyOn(ValidationPipe.prototype as unknown as { validate: () => unknown }, 'validate');
        expect(await outcome(pipe.transform({ ...value }, metadata))).toStrictEqual(expected);
        expect(validate).toHaveBeenCalled();
        validate.mockRestore();
      }
    }
  });

  it('does not take a plain query for a subclass that did not ask for it', async () => {
    class Required extends PageQueryDto {
      @IsString()
      status!: string;
    }
    const error = await pipe.transform({ limit: '20' }, { type: 'query', metatype: Required }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
  });
});

describe('createValidationPipe on a NoQueryDto query (review 19a M4)', () => {
  const pipe = createValidationPipe();
  const asQuery = { type: 'query', metatype: NoQueryDto } as const;

  it('takes an empty query', async () => {
    await expect(pipe.transform({}, asQuery)).resolves.toBeInstanceOf(NoQueryDto);
  });

  it('refuses any parameter with validation_failed naming it, as forbidNonWhitelisted does', async () => {
    for (const value of [{ x: '1' }, { limit: '20' }, { a: { b: '1' } }, { x: '1', y: ['2', '3'] }]) {
      const error = await pipe.transform(value, asQuery).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({
        status: 400,
        code: 'validation_failed',
        extras: {
          errors: Object.keys(value).map((name) => ({ field: name, messages: [`property ${name} should not exist`] })),
        },
      });
    }
  });
});

describe('createValidationPipe on a body with a wrong field', () => {
  const pipe = createValidationPipe();
  const asBody = { type: 'body', metatype: CreatePostDto } as const;
  const problemOf = (value: object) =>
    pipe.transform(value, asBody).then(
      () => undefined,
      (caught: unknown) => caught as DomainError,
    );

  it('reports one rule per field, the first that fails, not every rule of the field (review 18c)', async () => {
    const problem = await problemOf({ content: 'A body.' });
    expect(problem).toMatchObject({ status: 400, code: 'validation_failed' });
    // `title` is missing: "must be a string" alone, not also its length rule.
    expect(problem?.extras.errors).toEqual([{ field: 'title', messages: ['title must be a string'] }]);
  });

  it('still reports every wrong field, each with its own first failing rule', async () => {
    const problem = await problemOf({ title: 'x'.repeat(201), content: 7 });
    expect(problem?.extras.errors).toEqual([
      { field: 'title', messages: ['title must be shorter than or equal to 200 characters'] },
      { field: 'content', messages: ['content must be a string'] },
    ]);
  });
});

describe('free text refuses lone surrogates and control characters (review 19a L5)', () => {
  const pipe = createValidationPipe();
  const errorsOf = (metatype: new () => object, value: object) =>
    pipe.transform(value, { type: 'body', metatype }).then(
      () => [],
      (caught: unknown) => (caught as DomainError).extras.errors,
    );
  const message = (field: string) =>
    `${field} must be well-formed text (no lone surrogates, NUL or other control characters)`;

  it('on every free-text field of a post, each named', async () => {
    const errors = await errorsOf(CreatePostDto, { title: 'a\ud800', excerpt: 'x\u0000', content: '\udc00 body' });
    expect(errors).toEqual([
      { field: 'title', messages: [message('title')] },
      { field: 'excerpt', messages: [message('excerpt')] },
      { field: 'content', messages: [message('content')] },
    ]);
  });

  it('on comments and on Conduit articles and comments', async () => {
    expect(await errorsOf(CreateCommentDto, { content: 'nul \u0000 here' })).toEqual([
      { field: 'content', messages: [message('content')] },
    ]);
    expect(
      await errorsOf(ConduitNewArticleDto, { title: '\ud800', description: 'bell \u0007', body: 'esc \u001b[2J' }),
    ).toEqual(
      expect.arrayContaining([
        { field: 'title', messages: [message('title')] },
        { field: 'description', messages: [message('description')] },
        { field: 'body', messages: [message('body')] },
      ]),
    );
    expect(await errorsOf(ConduitNewCommentDto, { body: '\u007f' })).toEqual([
      { field: 'body', messages: [message('body')] },
    ]);
  });

  it('on every other stored free text: names, bios, profile fields and URLs, preferences, tags and categories (session 20)', async () => {
    const bad = 'bell \u0007';
    const register = { email: 'ada@example.com', password: 'correct horse battery staple' };
    expect(await errorsOf(RegisterDto, { ...register, firstName: bad, lastName: '\ud800' })).toEqual([
      { field: 'firstName', messages: [message('firstName')] },
      { field: 'lastName', messages: [message('lastName')] },
    ]);
    expect(await errorsOf(UpdateMeDto, { firstName: 'nul \u0000' })).toEqual([
      { field: 'firstName', messages: [message('firstName')] },
    ]);
    const url = 'https://example.com/a\u001b[2Jb';
    expect(
      await errorsOf(UpdateProfileDto, {
        bio: bad,
        location: 'csi \u009b',
        avatarUrl: url,
        website: url,
        socialLinks: [{ network: 'github', url }],
      }),
    ).toEqual([
      { field: 'bio', messages: [message('bio')] },
      { field: 'avatarUrl', messages: [message('avatarUrl')] },
      { field: 'website', messages: [message('website')] },
      { field: 'location', messages: [message('location')] },
      { field: 'socialLinks.0.url', messages: [message('url')] },
    ]);
    const preferences = await errorsOf(UpdateProfileDto, { preferences: { theme: 'dark\u0000' } });
    expect(preferences).toEqual([
      { field: 'preferences', messages: [expect.stringContaining('no control characters')] },
    ]);
    expect(await errorsOf(UpdateProfileDto, { preferences: { theme: 'dark', size: 3 } })).toEqual([]);
    // Conduit's PUT /api/user: bio comes from the native rule; image, and the nested field names.
    expect(await errorsOf(ConduitUserChangesDto, { bio: bad, image: url })).toEqual([
      { field: 'image', messages: [message('image')] },
      { field: 'bio', messages: [message('bio')] },
    ]);
    expect(await errorsOf(ConduitUpdateUserDto, { user: { bio: '\u0085' } })).toEqual([
      { field: 'user.bio', messages: [message('bio')] },
    ]);
    const taxonomy = { name: 'esc\u001b', description: bad };
    expect(await errorsOf(CreateTagDto, taxonomy)).toEqual([
      { field: 'name', messages: [message('name')] },
      { field: 'description', messages: [message('description')] },
    ]);
    expect(await errorsOf(CreateCategoryDto, { ...taxonomy, icon: '\u0080' })).toEqual([
      { field: 'icon', messages: [message('icon')] },
      { field: 'name', messages: [message('name')] },
      { field: 'description', messages: [message('description')] },
    ]);
    expect(await errorsOf(UpdateTagDto, { description: '\udfff' })).toEqual([
      { field: 'description', messages: [message('description')] },
    ]);
    expect(
      await errorsOf(ConduitNewArticleDto, { title: 't', description: 'd', body: 'b', tagList: ['ok', 'esc\u001b'] }),
    ).toEqual([{ field: 'tagList', messages: [expect.stringContaining('well-formed text')] }]);
    expect(
      await errorsOf(CreatePostDto, { title: 't', content: 'c', featuredImageUrl: 'https://example.com/\u0007.png' }),
    ).toEqual([{ field: 'featuredImageUrl', messages: [message('featuredImageUrl')] }]);
  });

  it('takes emoji, non-Latin text and no-break spaces in names, bios, tags and URLs', async () => {
    const text = 'Ada \ud83d\udc09 Лавлейс\u00a0日本';
    expect(await errorsOf(UpdateMeDto, { firstName: text, lastName: text })).toEqual([]);
    expect(
      await errorsOf(UpdateProfileDto, { bio: `${text}\n\tmore`, location: text, website: 'https://ada.example/é' }),
    ).toEqual([]);
    expect(await errorsOf(CreateCategoryDto, { name: text, description: text, icon: 'book' })).toEqual([]);
  });

  it('takes emoji (surrogate pairs), tabs and line breaks', async () => {
    const text = 'Dragons \ud83d\udc09\tand\r\nmore\n';
    expect(await errorsOf(CreatePostDto, { title: text, excerpt: text, content: text })).toEqual([]);
    expect(await errorsOf(CreateCommentDto, { content: text })).toEqual([]);
    expect(await errorsOf(ConduitNewArticleDto, { title: text, description: text, body: text })).toEqual([]);
  });

  describe('bodies that show nothing are refused (session 20)', () => {
    const blank = (field: string) => `${field} must not be blank (whitespace or invisible characters only)`;

    it.each(['   ', '\n\t \r\n', '\u200b', ' \u00a0\u3000\u2800 '])(
      '%j as a comment, a post body or title',
      async (text) => {
        expect(await errorsOf(CreateCommentDto, { content: text })).toEqual([
          { field: 'content', messages: [blank('content')] },
        ]);
        expect(await errorsOf(ConduitNewCommentDto, { body: text })).toEqual([
          { field: 'body', messages: [blank('body')] },
        ]);
        expect(await errorsOf(CreatePostDto, { title: 'A title', content: text })).toEqual([
          { field: 'content', messages: [blank('content')] },
        ]);
        expect(await errorsOf(ConduitNewArticleDto, { title: 'A title', description: 'd', body: text })).toEqual([
          { field: 'body', messages: [blank('body')] },
        ]);
        // A title is trimmed first: whitespace alone fails its length rule, invisible characters this one.
        expect(
          ((await errorsOf(CreatePostDto, { title: text, content: 'x' })) as { field: string }[]).map((e) => e.field),
        ).toEqual(['title']);
      },
    );

    it('keeps text with something to show as written, leading spaces included', async () => {
      expect(await errorsOf(CreateCommentDto, { content: '    indented code' })).toEqual([]);
      expect(await errorsOf(CreateCommentDto, { content: '.' })).toEqual([]);
      expect(await errorsOf(CreatePostDto, { title: ' x ', content: '\n\n    x' })).toEqual([]);
    });
  });
});

describe('createValidationPipe answers 400, never a throw, for values a rule cannot read (review 22a L1, L5)', () => {
  const pipe = createValidationPipe();
  const outcomeOf = (metatype: new () => object, value: object) =>
    pipe.transform(value, { type: 'body', metatype }).then(
      () => 'accepted',
      (caught: unknown) => caught,
    );

  it('refuses an email with a lone surrogate or a control character as an invalid email (isEmail threw URIError)', async () => {
    for (const email of ['a\ud800@example.com', 'ada@exa\udc00mple.com', 'ada\u0000@example.com']) {
      const problem = await outcomeOf(RegisterDto, { email, password: 'correct horse battery' });
      expect(problem).toBeInstanceOf(DomainError);
      expect((problem as DomainError).extras.errors).toEqual([
        { field: 'email', messages: ['email must be a valid email address'] },
      ]);
    }
    expect(await outcomeOf(RegisterDto, { email: 'ada@example.com', password: 'correct horse battery' })).toBe(
      'accepted',
    );
  });

  it('refuses `null` for a username or a Conduit email, which may be left out but not cleared', async () => {
    const username = await outcomeOf(UpdateMeDto, { username: null });
    expect(username).toBeInstanceOf(DomainError);
    expect((username as DomainError).extras.errors).toEqual([
      { field: 'username', messages: ['username must be a string'] },
    ]);
    const conduit = await outcomeOf(ConduitUserChangesDto, { email: null });
    expect((conduit as DomainError).extras.errors).toEqual([{ field: 'email', messages: ['email must be a string'] }]);
    expect(await outcomeOf(UpdateMeDto, {})).toBe('accepted');
  });

  it('turns a rule that throws into validation_failed (400), naming where the value was', async () => {
    class Throwing {
      @ValidateBy({
        name: 'throws',
        validator: {
          validate: () => {
            throw new URIError('URI malformed');
          },
        },
      })
      value!: string;
    }
    const problem = await outcomeOf(Throwing, { value: 'x' });
    expect(problem).toBeInstanceOf(DomainError);
    expect(problem).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((problem as DomainError).extras.errors).toEqual([{ field: 'body', messages: ['could not be validated'] }]);
  });
});
