import type { CategoryNode } from './category-tree.js';
import type { CategoryDetailDto, CategoryDto, CategoryNodeDto, CategoryRefDto, TagDto } from './dto/taxonomy.dto.js';
import type { CategoryDetail } from './taxonomy.service.js';
import type { Category, Tag } from './taxonomy.entity.js';

export const TaxonomyMapper = {
  tag(tag: Tag): TagDto {
    return {
      id: tag.id,
      name: tag.name,
      slug: tag.slug,
      description: tag.description,
      color: tag.color,
      postCount: tag.postCount,
      createdAt: tag.createdAt,
      updatedAt: tag.updatedAt,
      version: tag.version,
    };
  },

  category(category: Category): CategoryDto {
    return {
      id: category.id,
      name: category.name,
      slug: category.slug,
      description: category.description,
      color: category.color,
      icon: category.icon,
      sortOrder: category.sortOrder,
      parentId: category.parentId,
      postCount: category.postCount,
      createdAt: category.createdAt,
      updatedAt: category.updatedAt,
      version: category.version,
    };
  },

  ref(category: Category): CategoryRefDto {
    return { id: category.id, name: category.name, slug: category.slug };
  },

  node(node: CategoryNode): CategoryNodeDto {
    return { ...TaxonomyMapper.category(node), children: node.children.map((child) => TaxonomyMapper.node(child)) };
  },

  detail(detail: CategoryDetail): CategoryDetailDto {
    return {
      ...TaxonomyMapper.category(detail.category),
      children: detail.children.map((child) => TaxonomyMapper.category(child)),
      ancestors: detail.ancestors.map((ancestor) => TaxonomyMapper.ref(ancestor)),
    };
  },
};
