import { describe, expect, it } from '@jest/globals';
import { classifyKey } from './item-types.js';
import { Keys } from './keys.js';

describe('classifyKey', () => {
  it('recognises a follow edge by its partition prefix and sort key together', () => {
    expect(classifyKey(Keys.follow('reader', 'author')).type).toBe('follow');
    // Another entity that happened to use the sort key FOLLOW is not handed to the follow handler.
    expect(classifyKey({ PK: 'SOMETHING#else', SK: Keys.follow('a', 'b').SK }).type).toBe('other');
    expect(classifyKey({ PK: Keys.follow('a', 'b').PK, SK: 'NOT_FOLLOW' }).type).toBe('other');
  });

  it('recognises posts, users, comments and follow counts by their key shapes', () => {
    expect(classifyKey(Keys.post('p1'))).toEqual({ type: 'post', id: 'p1' });
    expect(classifyKey(Keys.user('u1'))).toEqual({ type: 'user', id: 'u1' });
    expect(classifyKey(Keys.followCounts('u1'))).toEqual({ type: 'followCounts', id: 'u1' });
    expect(classifyKey(Keys.comment('p1', 'x#y')).type).toBe('comment');
    // The user's post counts item (issue 18) is not a user record.
    expect(classifyKey(Keys.userPostCounts('u1')).type).toBe('other');
    // The fan-in promotion's job (review 12, M2) drives its own steps.
    expect(classifyKey(Keys.fanInPromotionJob('u1'))).toEqual({ type: 'fanInPromotionJob', id: 'u1' });
    expect(classifyKey(Keys.displayFanoutJob('u1')).type).toBe('displayFanoutJob');
  });

  it("recognises a view counter shard and names its post, not the shard's number", () => {
    expect(classifyKey(Keys.postViewShard('p1', 17))).toEqual({ type: 'postViewShard', id: 'p1' });
    // A view marker (`VIEW#<postId>#<viewer>`) is not a shard.
    expect(classifyKey(Keys.view('p1', 'u1')).type).toBe('other');
  });
});
