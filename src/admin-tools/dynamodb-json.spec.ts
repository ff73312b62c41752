import { exportLine, ItemFormatError, itemFromJson, itemSize, parseExportLine } from './dynamodb-json.js';

describe('DynamoDB JSON lines', () => {
  const item = {
    PK: { S: 'X#1' },
    SK: { S: 'X' },
    big: { N: '12345678901234567890.123456789' },
    blob: { B: new Uint8Array([0, 1, 2, 250]) },
    tags: { SS: ['b', 'a'] },
    nums: { NS: ['10', '2'] },
    blobs: { BS: [new Uint8Array([2]), new Uint8Array([1])] },
    nested: { M: { z: { L: [{ NULL: true as const }, { BOOL: false }] }, a: { S: '' } } },
  };

  it('round-trips every type and writes canonical lines (sorted names and set members)', () => {
    const line = exportLine(item);
    expect(line.indexOf('"PK"')).toBeLessThan(line.indexOf('"SK"'));
    expect(line).toContain('"SS":["a","b"]');
    expect(line).toContain('"NS":["10","2"]');
    expect(line).toContain('"M":{"a":{"S":""},"z"');
    const back = parseExportLine(line);
    expect(back.big).toEqual({ N: '12345678901234567890.123456789' });
    expect(Buffer.from(back.blob.B!)).toEqual(Buffer.from([0, 1, 2, 250]));
    expect(exportLine(back)).toBe(line);
  });

  it.each([
    ['not json', 'malformed JSON'],
    ['[1]', 'expected an object {"Item": {...}}'],
    ['{"Item":{"PK":{"S":"a","N":"1"}}}', 'Item.PK must have exactly one type (got S, N)'],
    ['{"Item":{"n":{"N":"1e"}}}', 'Item.n.N is not a DynamoDB number'],
    ['{"Item":{"n":{"N":1}}}', 'Item.n.N is not a DynamoDB number'],
    ['{"Item":{"b":{"B":"***"}}}', 'Item.b.B is not base64'],
    ['{"Item":{"s":{"SS":[]}}}', 'Item.s.SS must be a non-empty array'],
    ['{"Item":{"s":{"SS":["a","a"]}}}', 'Item.s.SS has duplicate members'],
    ['{"Item":{"x":{"Q":"1"}}}', 'Item.x has an unknown type Q'],
    ['{"Item":{"m":{"M":{"k":{"NULL":false}}}}}', 'Item.m.M.k.NULL must be true'],
  ])('refuses %s', (line, message) => {
    expect(() => parseExportLine(line)).toThrow(new ItemFormatError(message));
  });

  it.each([
    ['1e999999', "Item.n.N is outside DynamoDB's range (1E-130 to below 1E+126 in magnitude)"],
    ['1E126', "Item.n.N is outside DynamoDB's range (1E-130 to below 1E+126 in magnitude)"],
    ['-10e125', "Item.n.N is outside DynamoDB's range (1E-130 to below 1E+126 in magnitude)"],
    ['0.1e-130', "Item.n.N is outside DynamoDB's range (1E-130 to below 1E+126 in magnitude)"],
    ['1e-131', "Item.n.N is outside DynamoDB's range (1E-130 to below 1E+126 in magnitude)"],
    ['1' + '2'.repeat(38), 'Item.n.N has more than 38 significant digits (DynamoDB refuses it)'],
    ['0.000' + '9'.repeat(39), 'Item.n.N has more than 38 significant digits (DynamoDB refuses it)'],
  ])('refuses the number %s as DynamoDB does (review 19a L3)', (n, message) => {
    expect(() => parseExportLine(`{"Item":{"n":{"N":"${n}"}}}`)).toThrow(new ItemFormatError(message));
    expect(() => parseExportLine(`{"Item":{"s":{"NS":["1","${n}"]}}}`)).toThrow(ItemFormatError);
  });

  it.each([
    '0',
    '-0.000',
    '1E-130',
    '-1e-130',
    '9.9999999999999999999999999999999999999E+125',
    '99999999999999999999999999999999999999' + '0'.repeat(88), // 38 nines, x 1E+88: below 1E+126
    '0.00' + '1'.repeat(38),
    '1' + '0'.repeat(60), // trailing zeros are not significant
    '12345678901234567890.123456789',
  ])('takes the number %s', (n) => {
    expect(parseExportLine(`{"Item":{"n":{"N":"${n}"}}}`).n).toEqual({ N: n });
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses an attribute named %s, at any depth', (name) => {
    expect(() => parseExportLine(`{"Item":{"PK":{"S":"a"},"${name}":{"S":"1"}}}`)).toThrow(
      new ItemFormatError(`Item has an attribute named ${name}, refused`),
    );
    expect(() => parseExportLine(`{"Item":{"m":{"M":{"${name}":{"S":"1"}}}}}`)).toThrow(
      new ItemFormatError(`Item.m.M has an attribute named ${name}, refused`),
    );
  });

  it('exports an attribute named __proto__ as an attribute, not as the prototype', () => {
    const odd: Record<string, { S: string }> = { PK: { S: 'a' } };
    Object.defineProperty(odd, '__proto__', { value: { S: '1' }, enumerable: true });
    expect(exportLine(odd)).toBe('{"Item":{"PK":{"S":"a"},"__proto__":{"S":"1"}}}');
  });

  it('estimates item sizes from names and values', () => {
    expect(itemSize(itemFromJson({ PK: { S: 'abc' }, n: { N: '100' } }))).toBe(2 + 3 + 1 + 3);
    // A map or list: 3 bytes of overhead and 1 per element (DynamoDB's documented rule).
    expect(itemSize({ m: { M: { a: { S: 'xy' }, b: { S: 'z' } } } })).toBe(1 + 3 + (1 + 2 + 1) + (1 + 1 + 1));
    expect(itemSize({ l: { L: [{ S: 'xy' }, { S: 'z' }] } })).toBe(1 + 3 + (1 + 2) + (1 + 1));
  });
});
