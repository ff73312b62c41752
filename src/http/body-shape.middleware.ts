import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';

/** Deepest nesting of objects and arrays a body may have (our deepest DTO needs 3). */
export const MAX_BODY_DEPTH = 32;

/** Keys that name or reach an object's prototype; no DTO has a field of these names. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export type BodyShapeProblem = { kind: 'too_deep' } | { kind: 'forbidden_key'; key: string; path: string };

/**
 * Walks a parsed JSON value without recursion (so a hostile nesting cannot exhaust the stack)
 * and reports the first problem: nesting deeper than `maxDepth`, or a prototype key anywhere.
 * The whole walk is done before any problem is reported as forbidden-key, so depth wins.
 */
export function inspectBodyShape(value: unknown, maxDepth = MAX_BODY_DEPTH): BodyShapeProblem | undefined {
  let forbidden: BodyShapeProblem | undefined;
  const stack: { node: unknown; depth: number; path: string }[] = [{ node: value, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { node, depth, path } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth + 1 > maxDepth) return { kind: 'too_deep' };
    if (Array.isArray(node)) {
      node.forEach((child, index) => stack.push({ node: child, depth: depth + 1, path: `${path}[${index}]` }));
      continue;
    }
    // JSON.parse makes `__proto__` an own property; Object.keys sees it, assignment would not.
    for (const key of Object.keys(node)) {
      const childPath = path ? `${path}.${key}` : key;
      if (FORBIDDEN_KEYS.has(key)) forbidden ??= { kind: 'forbidden_key', key, path: childPath };
      stack.push({ node: (node as Record<string, unknown>)[key], depth: depth + 1, path: childPath });
    }
  }
  return forbidden;
}

/**
 * Runs after the JSON parser and before anything reads the body: a body nested deeper than
 * `MAX_BODY_DEPTH` is `400 payload_too_deep` (class-transformer and class-validator recurse and
 * would overflow the stack, a 500), and a key named `__proto__`, `constructor` or `prototype`
 * anywhere is `400 forbidden_key`, so nothing in a body can reach an object's prototype.
 */
export function bodyShape(req: Request, _res: Response, next: NextFunction): void {
  const problem = inspectBodyShape(req.body);
  if (problem?.kind === 'too_deep') {
    next(
      new DomainError(
        400,
        ErrorCode.PayloadTooDeep,
        `The body is nested deeper than ${MAX_BODY_DEPTH} levels of objects and arrays.`,
      ),
    );
    return;
  }
  if (problem?.kind === 'forbidden_key') {
    next(
      new DomainError(400, ErrorCode.ForbiddenKey, `The body may not contain a key named "${problem.key}".`, {
        errors: [{ field: problem.path, messages: [`"${problem.key}" is not an accepted key`] }],
      }),
    );
    return;
  }
  next();
}
