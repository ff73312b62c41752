import { inspectBodyShape, MAX_BODY_DEPTH } from './body-shape.middleware.js';

const nested = (levels: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { a: value };
  return value;
};

describe('inspectBodyShape', () => {
  it('accepts bodies up to the depth bound', () => {
    expect(inspectBodyShape(nested(MAX_BODY_DEPTH))).toBeUndefined();
    expect(inspectBodyShape({ a: [1, { b: 'x' }], c: null })).toBeUndefined();
    expect(inspectBodyShape('scalar')).toBeUndefined();
  });

  it('refuses one level more, and a hostile depth without overflowing the stack', () => {
    expect(inspectBodyShape(nested(MAX_BODY_DEPTH + 1))).toEqual({ kind: 'too_deep' });
    expect(inspectBodyShape(JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)))).toEqual({ kind: 'too_deep' });
  });

  it.each(['__proto__', 'constructor', 'prototype'])('finds %s at any depth, as JSON.parse makes it', (key) => {
    const body = JSON.parse(`{"profile":{"links":[{"${key}":{"role":"admin"}}]}}`) as unknown;
    expect(inspectBodyShape(body)).toEqual({ kind: 'forbidden_key', key, path: `profile.links[0].${key}` });
  });

  it('reports depth before a prototype key', () => {
    expect(inspectBodyShape({ __proto__x: 1, constructor: nested(40) })).toEqual({ kind: 'too_deep' });
  });
});
