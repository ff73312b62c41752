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

  it('visibleGuard: canSeePost as a condition (out, or the viewer is the author); staff get liveGuard; otherwise 404 post_not_found', () => {
    const op = parts.visibleGuard('p1', { userId: 'u1', role: 'user' }, '2026-05-15T12:00:00.000Z');
    expect(op.item.ConditionCheck).toMatchObject({
      TableName: 't',
      Key: { PK: 'POST#p1' },
      ConditionExpression:
        'attribute_exists(PK) AND ((#status = :published AND (attribute_not_exists(publishedAt) OR publishedAt <= :now)) OR authorId = :viewer)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':published': 'published', ':now': '2026-05-15T12:00:00.000Z', ':viewer': 'u1' },
    });
    expect(op.onConditionFailed?.()).toEqual(expect.objectContaining({ status: 404, code: 'post_not_found' }));
    for (const role of ['moderator', 'admin'] as const)
      expect(parts.visibleGuard('p1', { userId: 'u1', role }, '2026-05-15T12:00:00.000Z')).toEqual(
        parts.liveGuard('p1'),
      );
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

describe('PostWriteParts.newCommentCount: where a new comment counts (issue 15)', () => {
  it("on the counter item for a quiet post; on the comment's counter shard, outside the post's partition, for a hot one", () => {
    expect(parts.newCommentCount('p1', 'c1', 1, false)).toEqual(parts.commentCountChange('p1', 1));
    const hot = parts.newCommentCount('p1', 'c1', 1, true);
    expect(hot.item.Update).toMatchObject({
      Key: { PK: expect.stringMatching(/^POSTCOMMENTS#p1#[0-3]$/), SK: 'COUNT' },
      UpdateExpression: 'SET entity = :entity ADD commentCount :delta, version :one',
      ConditionExpression: 'attribute_not_exists(deletedAt)',
      ExpressionAttributeValues: expect.objectContaining({ ':delta': 1, ':one': 1 }) as unknown,
    });
    // A comment's shard follows from its id, and comments spread over the shards.
    expect(parts.newCommentCount('p1', 'c1', 0, true).item.Update?.Key).toEqual(hot.item.Update?.Key);
    const shards = new Set(
      ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id) =>
        String(parts.newCommentCount('p1', id, 1, true).item.Update?.Key?.PK),
      ),
    );
    expect(shards.size).toBeGreaterThan(1);
    expect(hot.onConditionFailed?.()).toEqual(expect.objectContaining({ status: 404, code: 'post_not_found' }));
  });
});
