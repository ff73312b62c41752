/** A category: `PK=CATEGORIES`, `SK=CATEGORY#<id>`. */
export interface Category {
  id: string;
  name: string;
  slug: string;
  description?: string;
  /** `#rrggbb` */
  color?: string;
  icon?: string;
  sortOrder: number;
  parentId?: string;
  /** Published and scheduled posts in the category (its links), kept exact by the posts module's transactions. */
  postCount: number;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** A tag: `PK=TAG#<id>`, `SK=TAG`. */
export interface Tag {
  id: string;
  name: string;
  slug: string;
  description?: string;
  color?: string;
  /** Published and scheduled posts with the tag (its links), kept exact by the posts module's transactions. */
  postCount: number;
  createdAt: string;
  updatedAt: string;
  version: number;
}
