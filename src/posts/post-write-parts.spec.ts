import { DomainError } from '../common/errors/domain-error.js';
import { PostWriteParts } from './post-write-parts.js';

const parts = new PostWriteParts('t');

describe('PostWriteParts: the writes on a post that other modules’ transactions carry', () => {
  it('liveGuard: the post’s summary must still exist; otherwise 404 post_not_found', () => {
    const op = parts.liveGuard('p1');
    expect(op.item.ConditionCheck).toMatchObject({
      TableName: 't',
      Key: { PK: 'POST#p1' },
      ConditionExpression: 'attribute_exists(PK)',
    });
    expect(op.onConditionFailed?.()).toEqual(expect.objectContaining({ status: 404, code: 'post_not_found' }));
    expect(op.onConditionFailed?.()).toBeInstanceOf(DomainError);
  });

  it('commentCountChange: ADD on the counter item unless a deletion left its tombstone; otherwise 404', () => {
    const op = parts.commentCountChange('p1', -1);
    expect(op.item.Update).toMatchObject({
      Key: { PK: 'POST#p1', SK: 'COUNTS' },
      ConditionExpression: 'attribute_not_exists(deletedAt)',
      ExpressionAttributeNames: { '#counter': 'commentCount' },
      ExpressionAttributeValues: expect.objectContaining({ ':delta': -1 }) as unknown,
    });
    expect(op.onConditionFailed?.()).toEqual(expect.objectContaining({ status: 404, code: 'post_not_found' }));
  });
});
