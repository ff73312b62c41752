import { type ArgumentMetadata, HttpException, Logger, ValidationPipe, type ValidationError } from '@nestjs/common';
import { getMetadataStorage, type MetadataStorage } from 'class-validator';
import { badRequest, DomainError, type FieldError } from '../errors/domain-error.js';
import { ErrorCode } from '../errors/error-codes.js';
import { IdParams } from '../dto/id-params.dto.js';
import { NoQueryDto } from '../dto/no-query.dto.js';
import { MAX_PAGE_SIZE, PageQueryDto } from '../dto/page-query.dto.js';
import { ID_PATTERN } from '../ids.js';

/**
 * The message of the first rule, in reading order, that a field fails. class-validator runs a
 * field's rules in the order their decorators were applied, the one nearest the property first,
 * so the rule written first on the field (conventionally its type: `@IsString()` above
 * `@Length(1, 200)`) is the last it reports. A missing field fails them all; one message says why
 * (review 18c: "must be a string" and "must be longer than..." for one absent field). Its own
 * `stopAtFirstError` would keep the rule nearest the property, the length, instead.
 */
const firstRuleFailed = (constraints: Record<string, string>): string[] => Object.values(constraints).slice(-1);

/** Flattens class-validator's nested errors into `{ field: 'a.b', messages }` entries, one message a field. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own: FieldError[] = error.constraints ? [{ field, messages: firstRuleFailed(error.constraints) }] : [];
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

/**
 * The global pipe: unknown properties are refused (so no request can set a role, a key or a
 * counter by adding a field), payloads become DTO instances, and failures are one 400
 * `validation_failed` problem listing every wrong field, each with the first rule it fails.
 */
export function createValidationPipe(): ValidationPipe {
  memoiseValidationMetadata();
  return new AppValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const fields = flattenValidationErrors(errors);
      return badRequest(
        ErrorCode.ValidationFailed,
        fields.length ? `Invalid request: ${fields.map((f) => f.field).join(', ')}` : 'Invalid request.',
        fields.length ? fields : [{ field: 'body', messages: ['must be a JSON object'] }],
      );
    },
  });
}

/**
 * `{ id }` path parameters (`IdParams`, on most routes) that are valid as they stand become the
 * DTO without class-transformer and class-validator: the one rule (`@Matches(ID_PATTERN)`) is
 * checked here, on exactly the value those would accept, with nothing else on the object to
 * refuse. Anything else (a wrong id, another key) goes through the pipe as before, which answers
 * the same `validation_failed` problem.
 */
function validIdParams(value: unknown): IdParams | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const keys = Object.keys(value);
  const id = (value as { id?: unknown }).id;
  if (keys.length !== 1 || keys[0] !== 'id' || typeof id !== 'string' || !ID_PATTERN.test(id)) return undefined;
  const params = new IdParams();
  params.id = id;
  return params;
}

/** Query DTOs whose fields besides `limit` and `cursor` are all optional (see `validPageQuery`). */
const plainPageQueries = new WeakSet<object>([PageQueryDto]);

/**
 * Lets `validPageQuery` take a query of only `limit` and `cursor` for `dto`, a subclass of
 * PageQueryDto whose own fields are all optional (so such a query is valid for it as for the base).
 */
export function acceptPlainPageQuery(dto: new () => PageQueryDto): void {
  plainPageQueries.add(dto);
}

/** `limit` as `@Type(() => Number)` and `@IsInt() @Min(1) @Max(MAX_PAGE_SIZE)` accept it, in its plainest spelling. */
const PLAIN_LIMIT = /^[1-9][0-9]{0,2}$/;

/**
 * `?limit=&cursor=` queries (a list's, the list of 20 above all) that are valid as they stand
 * become the DTO without class-transformer and class-validator (about 0.1 ms a list request):
 * `limit` written as a plain integer from 1 to MAX_PAGE_SIZE, `cursor` a string of at most 2,048
 * UTF-16 units (`@MaxLength(2048)` counts a surrogate pair once, so it accepts those too), nothing
 * else. Everything else (another spelling of a number, a repeated parameter, a filter, an unknown
 * key) goes through the pipe as before, which accepts or refuses it as it did.
 */
function validPageQuery(metatype: new () => PageQueryDto, value: unknown): PageQueryDto | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { limit, cursor } = value as { limit?: unknown; cursor?: unknown };
  let known = 0;
  if (limit !== undefined) {
    if (typeof limit !== 'string' || !PLAIN_LIMIT.test(limit) || Number(limit) > MAX_PAGE_SIZE) return undefined;
    known++;
  }
  if (cursor !== undefined) {
    if (typeof cursor !== 'string' || cursor.length > 2048) return undefined;
    known++;
  }
  if (Object.keys(value).length !== known) return undefined;
  const query = new metatype();
  if (limit !== undefined) query.limit = Number(limit);
  if (cursor !== undefined) query.cursor = cursor;
  return query;
}

/**
 * A `NoQueryDto` query: empty, or a 400 naming each parameter as `forbidNonWhitelisted` does
 * (class-validator would refuse any object of a class without rules, `forbidUnknownValues`).
 */
function noQuery(value: unknown): Promise<NoQueryDto> {
  const names = typeof value === 'object' && value !== null ? Object.keys(value) : [];
  if (names.length === 0) return Promise.resolve(new NoQueryDto());
  return Promise.reject(
    badRequest(
      ErrorCode.ValidationFailed,
      `Invalid request: ${names.join(', ')}`,
      names.map((name) => ({ field: name, messages: [`property ${name} should not exist`] })),
    ),
  );
}

/** The ValidationPipe with shortcuts for the commonest, simplest arguments (`validIdParams`, `validPageQuery`). */
class AppValidationPipe extends ValidationPipe {
  private readonly logger = new Logger('ValidationPipe');

  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.metatype === IdParams && metadata.type === 'param') {
      const params = validIdParams(value);
      if (params) return Promise.resolve(params);
    }
    if (metadata.type === 'query' && metadata.metatype === NoQueryDto) return noQuery(value);
    if (metadata.type === 'query' && metadata.metatype && plainPageQueries.has(metadata.metatype)) {
      const query = validPageQuery(metadata.metatype as new () => PageQueryDto, value);
      if (query) return Promise.resolve(query);
    }
    return (super.transform(value, metadata) as Promise<unknown>).catch((error: unknown) => {
      if (error instanceof DomainError || error instanceof HttpException) throw error;
      // A rule or a transform that threw on a value it did not expect (validator's `isEmail` on a
      // lone surrogate did, review 22a L1): the value is the client's, so the answer is theirs too,
      // a 400, never a 500; the warning names the rule's error so a bug in one still shows.
      this.logger.warn(`A ${metadata.type} value could not be validated: ${String(error)}`);
      throw badRequest(ErrorCode.ValidationFailed, 'Invalid request: a value could not be validated.', [
        { field: metadata.type === 'custom' ? 'request' : metadata.type, messages: ['could not be validated'] },
      ]);
    });
  }
}

type MetadataLookup = MetadataStorage['getTargetValidationMetadatas'];
const memoised = new WeakSet<MetadataStorage>();

/**
 * Makes class-validator's lookup of a class's rules a map read. class-validator redoes it on every
 * `validate`: it filters the class's rules and tests the class against every decorated class in
 * the process (`prototype instanceof`) for inherited ones, 30-60 us of CPU a request that has a
 * params, query or body DTO. Rules are only added when a decorated class is defined (at import);
 * adding one empties the memo, so a class defined later is seen as before. Lookups with groups or
 * a schema (which the app does not use) go to class-validator as they are. Idempotent: the
 * storage is process-global (`global.classValidatorMetadataStorage`), shared by every app.
 */
export function memoiseValidationMetadata(storage: MetadataStorage = getMetadataStorage()): void {
  if (memoised.has(storage)) return;
  memoised.add(storage);
  const lookup: MetadataLookup = storage.getTargetValidationMetadatas.bind(storage);
  const add = storage.addValidationMetadata.bind(storage);
  // One map per combination of the `always` and `strictGroups` flags (index `always + 2 * strictGroups`).
  let memo: Map<object, ReturnType<MetadataLookup>>[] = [];
  storage.addValidationMetadata = (metadata) => {
    memo = [];
    add(metadata);
  };
  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    if (schema || (groups && groups.length > 0)) return lookup(target, schema, always, strictGroups, groups);
    const slot = (memo[Number(always) + 2 * Number(strictGroups)] ??= new Map());
    let rules = slot.get(target);
    if (rules === undefined) {
      rules = lookup(target, schema, always, strictGroups, groups);
      slot.set(target, rules);
    }
    return rules;
  };
}
