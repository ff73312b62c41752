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

  it('estimates item sizes from names and values', () => {
    expect(itemSize(itemFromJson({ PK: { S: 'abc' }, n: { N: '100' } }))).toBe(2 + 3 + 1 + 3);
  });
});
