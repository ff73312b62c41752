import type { INestApplicationContext } from '@nestjs/common';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AuthUser } from '../identity/auth-user.js';
import { CommentsService } from '../comments/comments.service.js';
import { SlugService } from '../slugs/slug.service.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { Keys } from '../dynamo/keys.js';
import { PostsService } from '../posts/posts.service.js';
import { TaxonomyService } from '../taxonomy/taxonomy.service.js';
import { PasswordHasher } from '../users/password-hasher.js';
import type { UserRole } from '../users/user.entity.js';
import { UsersRepository } from '../users/users.repository.js';
import { UsersService } from '../users/users.service.js';
import { systemClock } from '../common/clock/clock.js';

/**
 * `npm run db:seed`: a small, realistic data set across every module, made through the
 * services (so every rule and count holds). Idempotent: what exists is kept, and a marker item
 * records a finished run. Demo passwords are printed at the end.
 */
export const DEMO_USERS: { email: string; password: string; role: UserRole; username: string; verified: boolean }[] = [
  { email: 'admin@demo.example', password: 'demo-admin-pass', role: 'admin', username: 'demo_admin', verified: true },
  {
    email: 'moderator@demo.example',
    password: 'demo-moderator-pass',
    role: 'moderator',
    username: 'demo_moderator',
    verified: true,
  },
  { email: 'author@demo.example', password: 'demo-author-pass', role: 'user', username: 'demo_author', verified: true },
  { email: 'reader@demo.example', password: 'demo-reader-pass', role: 'user', username: 'demo_reader', verified: true },
  {
    email: 'newcomer@demo.example',
    password: 'demo-newcomer-pass',
    role: 'user',
    username: 'demo_newcomer',
    verified: false,
  },
];
const MARKER = Keys.seedMarker('demo');

const step = (text: string) => process.stdout.write(`  ${text}... `);
const done = (text = 'done') => console.log(text);

export async function seedDemoData(context: INestApplicationContext): Promise<void> {
  const db = context.get<DynamoDBDocumentClient>(DYNAMODB_DOCUMENT_CLIENT);
  const tableName = context.get<string>(DYNAMODB_TABLE_NAME);
  const marker = await db.send(new GetCommand({ TableName: tableName, Key: MARKER, ConsistentRead: true }));
  if (marker.Item) {
    console.log(`Demo data is already in ${tableName} (seeded ${String(marker.Item.at)}).`);
    return printCredentials();
  }
  console.log(`Seeding demo data into ${tableName}:`);

  const users = context.get(UsersService);
  const usersRepository = context.get(UsersRepository);
  const hasher = context.get(PasswordHasher);
  step('users');
  const people: Record<string, AuthUser> = {};
  for (const demo of DEMO_USERS) {
    let userId = await usersRepository.findIdByEmail(demo.email);
    if (!userId) {
      const created = await users.create({
        email: demo.email,
        passwordHash: await hasher.hash(demo.password),
        username: demo.username,
        role: demo.role,
        status: demo.verified ? 'active' : 'pending',
        emailVerified: demo.verified,
      });
      userId = created.id;
    }
    const user = (await usersRepository.findById(userId))!;
    people[demo.username] = {
      userId,
      sessionId: 'seed',
      role: user.role,
      status: user.status,
      email: user.email,
      emailVerified: user.emailVerified,
    };
  }
  done(`${DEMO_USERS.length}`);

  const taxonomy = context.get(TaxonomyService);
  const slugs = context.get(SlugService);
  const category = async (name: string, slug: string, parentId?: string, sortOrder = 0) => {
    const existing = await slugs.ownerOf('category', slug);
    return existing ?? (await taxonomy.createCategory({ name, slug, parentId, sortOrder })).id;
  };
  step('categories');
  const technology = await category('Technology', 'technology', undefined, 1);
  const databases = await category('Databases', 'databases', technology, 1);
  const dynamodb = await category('DynamoDB', 'dynamodb', databases);
  const programming = await category('Programming', 'programming', technology, 2);
  const culture = await category('Culture', 'culture', undefined, 2);
  done('5 in a tree');

  step('tags');
  const tag = async (name: string, slug: string) =>
    (await slugs.ownerOf('tag', slug)) ?? (await taxonomy.createTag({ name, slug })).id;
  const tags = {
    typescript: await tag('TypeScript', 'typescript'),
    dynamodb: await tag('DynamoDB', 'dynamodb'),
    nestjs: await tag('NestJS', 'nestjs'),
    design: await tag('Design', 'design'),
  };
  done('4');

  const posts = context.get(PostsService);
  const comments = context.get(CommentsService);
  const author = people.demo_author;
  const reader = people.demo_reader;
  const moderator = people.demo_moderator;
  const newcomer = people.demo_newcomer;
  const demoPosts: {
    slug: string;
    title: string;
    categoryId: string;
    tagIds: string[];
    state: 'published' | 'draft' | 'scheduled';
  }[] = [
    {
      slug: 'single-table-design-in-practice',
      title: 'Single-table design in practice',
      categoryId: dynamodb,
      tagIds: [tags.dynamodb, tags.design],
      state: 'published',
    },
    {
      slug: 'typed-config-in-nestjs',
      title: 'Typed configuration in NestJS',
      categoryId: programming,
      tagIds: [tags.nestjs, tags.typescript],
      state: 'published',
    },
    {
      slug: 'why-we-write-docs',
      title: 'Why we write docs',
      categoryId: culture,
      tagIds: [tags.design],
      state: 'published',
    },
    {
      slug: 'transactions-deep-dive',
      title: 'Transactions, a deep dive',
      categoryId: databases,
      tagIds: [tags.dynamodb],
      state: 'scheduled',
    },
    {
      slug: 'unfinished-thoughts',
      title: 'Unfinished thoughts',
      categoryId: programming,
      tagIds: [tags.typescript],
      state: 'draft',
    },
  ];
  step('posts, comments and likes');
  let created = 0;
  for (const demo of demoPosts) {
    if (await slugs.ownerOf('post', demo.slug)) continue;
    const { post } = await posts.create(author, {
      title: demo.title,
      slug: demo.slug,
      content: `# ${demo.title}\n\nThis is demo content for "${demo.title}". It shows how the API stores, lists and counts posts.`,
      categoryId: demo.categoryId,
      tagIds: demo.tagIds,
    });
    created++;
    if (demo.state === 'scheduled')
      await posts.publish(post.id, author, new Date(systemClock.now().getTime() + 7 * 86_400_000).toISOString());
    if (demo.state !== 'published') continue;
    await posts.publish(post.id, author);
    const first = await comments.create(post.id, reader, 'Great read, thanks!');
    const reply = await comments.create(post.id, author, 'Thank you for reading.', first.id);
    await comments.create(post.id, reader, 'One follow-up question: how do you page across buckets?', reply.id);
    await comments.create(post.id, newcomer, 'First comment here, waiting for moderation.');
    const spam = await comments.create(post.id, newcomer, 'Cheap watches at example.com');
    await comments.moderate(post.id, spam.id, 'spam', moderator);
    const rude = await comments.create(post.id, newcomer, 'This is rubbish.');
    await comments.moderate(post.id, rude.id, 'rejected', moderator);
    await posts.setLike(post.id, reader, true);
    await posts.setLike(post.id, moderator, true);
    await comments.setLike(post.id, first.id, moderator, true);
  }
  done(`${created} new posts`);

  await db.send(new PutCommand({ TableName: tableName, Item: { ...MARKER, at: systemClock.now().toISOString() } }));
  console.log('Done.');
  printCredentials();
}

function printCredentials(): void {
  console.log('\nDemo accounts (sign in with POST /api/v1/auth/login):');
  for (const demo of DEMO_USERS) console.log(`  ${demo.role.padEnd(9)} ${demo.email.padEnd(24)} ${demo.password}`);
}
