import { NumberValue } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { fromAttr, toAttr } from './lean-marshall.js';

// lib-dynamodb's options for one value, as the lean client had them before lean-marshall.ts.
const MARSHALL = { removeUndefinedValues: true, convertClassInstanceToMap: false, convertTopLevelContainer: true };
const UNMARSHALL = { wrapNumbers: false, convertWithoutMapWrapper: true };

/** The value or the error message, so that refusals are compared too. */
const outcome = (run: () => unknown): unknown => {
  try {
    return { value: run() };
  } catch (error) {
    return { error: (error as Error).message };
  }
};

class Point {
  constructor(
    readonly x = 1,
    readonly y = 2,
  ) {}
}

const NATIVE: [string, unknown][] = [
  ['a string', 'A title'],
  ['an empty string', ''],
  ['non-ASCII', 'Crème 日本 😀'],
  ['an integer', 42],
  ['a negative', -7],
  ['a fraction', 0.1 + 0.2],
  ['a tiny exponent', 1e-7],
  ['zero and minus zero', [0, -0]],
  ['the largest safe integer', Number.MAX_SAFE_INTEGER],
  ['the smallest safe integer', Number.MIN_SAFE_INTEGER],
  ['past the safe integers', Number.MAX_SAFE_INTEGER + 2],
  ['below the safe integers', Number.MIN_SAFE_INTEGER - 2],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['a bigint', 12345678901234567890n],
  ['a NumberValue', NumberValue.from('12345678901234567890.5')],
  ['true', true],
  ['false', false],
  ['null', null],
  ['a list with holes, undefined and functions', [1, undefined, 'two', () => 3, , { three: 3 }]], // eslint-disable-line no-sparse-arrays
  ['an empty list', []],
  ['a map with undefined and functions', { a: 1, b: undefined, c: () => 1, d: { e: [null, false] } }],
  ['an empty map', {}],
  ['a deep map', { l1: { l2: { l3: { l4: [{ l5: 'deep' }] } } } }],
  ['a string set', new Set(['x', 'y'])],
  ['a number set', new Set([1, 2.5])],
  ['a bigint set', new Set([1n, 2n])],
  ['a binary set', new Set([new Uint8Array([1, 2])])],
  ['a set with undefined', new Set(['x', undefined])],
  ['an empty set', new Set()],
  ['a set of maps', new Set([{ a: 1 }])],
  [
    'a Map',
    new Map<string, unknown>([
      ['k', 'v'],
      ['u', undefined],
    ]),
  ],
  ['a Uint8Array', new Uint8Array([0, 1, 255])],
  ['a Buffer', Buffer.from('bin')],
  ['an empty binary', new Uint8Array(0)],
  ['a class instance', new Point()],
  ['a map holding a class instance', { p: new Point() }],
  ['an object without prototype', Object.assign(Object.create(null) as object, { a: 1, b: { c: 'x' } })],
  ['an item with a string "constructor" member', { constructor: 'x', a: 1 }],
  ['a Date', new Date(0)],
  ['a String object', new String('boxed')],
  ['a Number object', new Number(5)],
  ['a Boolean object', new Boolean(false)],
  ['a symbol', Symbol('s')],
  ['a function', () => 1],
];

const WIRE: [string, unknown][] = [
  ['S', { S: 'x' }],
  ['N', { N: '42' }],
  ['N, a fraction', { N: '-0.125' }],
  ['N, past the safe integers', { N: '12345678901234567890' }],
  ['N, past the safe integers with a fraction', { N: '12345678901234567890.5' }],
  ['N, not a number', { N: 'abc' }],
  ['N, huge', { N: '1e400' }],
  ['BOOL', { BOOL: false }],
  ['NULL', { NULL: true }],
  ['B', { B: new Uint8Array([1, 2]) }],
  ['L', { L: [{ S: 'a' }, { N: '2' }, { L: [] }, { M: { x: { NULL: true } } }] }],
  ['M', { M: { a: { S: 'x' }, b: { M: { c: { NS: ['1', '2'] } } } } }],
  ['SS', { SS: ['x', 'y', 'x'] }],
  ['NS', { NS: ['1', '2.5', '12345678901234567890'] }],
  ['BS', { BS: [new Uint8Array([1]), new Uint8Array([2])] }],
  ['an undefined member first', { S: undefined, N: '3' }],
  ['an unknown type', { X: 'x' }],
  ['no value', {}],
  ['only undefined', { S: undefined }],
  ['null', null],
  ['a string', 'S'],
  ['M of null', { M: null }],
  ['M with __proto__', JSON.parse('{"M":{"__proto__":{"S":"x"},"a":{"S":"y"}}}') as unknown],
];

describe('lean marshalling: util-dynamodb, value for value', () => {
  it.each(NATIVE)('marshall of %s', (_, value) => {
    expect(outcome(() => toAttr(value))).toEqual(outcome(() => marshall(value as never, MARSHALL)));
  });

  it.each(WIRE)('unmarshall of %s', (_, value) => {
    expect(outcome(() => fromAttr(value))).toEqual(outcome(() => unmarshall(value as never, UNMARSHALL)));
  });

  it('round trips a generated item of every kind of member', () => {
    const item = Object.fromEntries(
      NATIVE.filter(
        ([name]) =>
          !/NaN|Infinity|past|below|set with|empty set|set of|class|symbol|function|Date|constructor|empty binary|Boolean object|NumberValue/.test(
            name,
          ),
      ),
    );
    const wire = toAttr(item);
    expect(wire).toEqual(marshall(item as never, MARSHALL));
    expect(fromAttr(wire)).toEqual(unmarshall(wire as never, UNMARSHALL));
  });
});
