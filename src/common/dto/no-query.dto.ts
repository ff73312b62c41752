/**
 * The query of a route that takes no query parameters, for `@Query() _query: NoQueryDto`: any
 * parameter is refused with 400 `validation_failed` ("property x should not exist"), as the list
 * routes' DTOs refuse an unknown one. A `@PublicCache()` route needs one (review 19a M4): a
 * parameter the route ignored made each made-up value (`?x=1`, `?x=2`) a cache miss, a database
 * read, and a new entry pushing a real one out. The validation pipe checks it without
 * class-validator (an empty query is the common case, on the hottest routes).
 */
export class NoQueryDto {}
