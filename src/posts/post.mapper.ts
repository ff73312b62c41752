import type { PostDto, PostSummaryDto } from './dto/post.dto.js';
import { effectiveStatus, type Post, type PostSummary } from './post.entity.js';

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
      likeCount: post.likeCount,
      commentCount: post.commentCount,
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
