import type { Comment } from './comment.entity.js';
import type { CommentDto } from './dto/comment.dto.js';

export const CommentMapper = {
  toDto(comment: Comment): CommentDto {
    return {
      id: comment.id,
      postId: comment.postId,
      parentId: comment.parentId,
      depth: comment.depth,
      authorId: comment.deleted ? undefined : comment.authorId,
      authorUsername: comment.deleted ? undefined : comment.authorUsername,
      authorName: comment.deleted ? undefined : comment.authorName,
      content: comment.deleted ? undefined : comment.content,
      status: comment.status,
      deleted: comment.deleted,
      likeCount: comment.likeCount,
      createdAt: comment.createdAt,
      updatedAt: comment.updatedAt,
      editedAt: comment.editedAt,
      version: comment.version,
    };
  },
};
