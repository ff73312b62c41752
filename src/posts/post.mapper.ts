import type { PostDto, PostSummaryDto } from './dto/post.dto.js';
import { effectiveStatus, type Post, type PostSummary } from './post.entity.js';

/**
 * A count as shown: never below 0. The stored parts can sum below the truth for a moment: a
 * comment counted on a comment shard (a hot post) and deleted before the stream folded that shard
 * takes its `-1` off the counter item at once, so `commentCount` reads low, even below 0, until the
 * fold (about a second; review 13, L-b3). The same clamp for `likeCount`.
 */
export const shownCount = (count: number): number => Math.max(0, count);

export const PostMapper = {
  summary(post: PostSummary, now: Date): PostSummaryDto {
    return {
      id: post.id,
      authorId: post.authorId,
      authorUsername: post.authorUsername,
      authorName: post.authorName,
      title: post.title,
      slug: post.slug,
      excerpt: post.excerpt,
      featuredImageUrl: post.featuredImageUrl,
      categoryId: post.categoryId,
      tagIds: [...post.tagIds],
      status: effectiveStatus(post, now),
      publishedAt: post.publishedAt,
      viewCount: post.viewCount,
      likeCount: shownCount(post.likeCount),
      commentCount: shownCount(post.commentCount),
      createdAt: post.createdAt,
      updatedAt: post.updatedAt,
      version: post.version,
    };
  },

  full(post: Post, likedByMe: boolean | undefined, now: Date): PostDto {
    return {
      ...PostMapper.summary(post, now),
      content: post.content,
      ...(likedByMe === undefined ? {} : { likedByMe }),
    };
  },
};
