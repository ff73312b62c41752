import {
  type BeforeApplicationShutdown,
  Inject,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type Type,
} from '@nestjs/common';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { awsClientOptions } from '../dynamo/dynamo-client.factory.js';
import { CommentsModule } from '../comments/comments.module.js';
import { PostsModule } from '../posts/posts.module.js';
import { UsersModule } from '../users/users.module.js';
import { AuthorDisplayCopy, AuthorDisplayHandler, DisplayFanoutJobHandler } from './handlers/author-display.handler.js';
import { AuthorDisplayOnCreateHandler } from './handlers/author-display-on-create.handler.js';
import { PostCascade, PostCascadeHandler, PostCascadeStepHandler } from './handlers/post-cascade.handler.js';
import { UserCascadeHandler } from './handlers/user-cascade.handler.js';
import { SuspendedAuthorHandler } from './handlers/suspended-author.handler.js';
import {
  LikePlaceHandler,
  LikeVisibilityHandler,
  LikeVisibilitySync,
  LikeVisibilityStepHandler,
} from './handlers/like-visibility.handler.js';
import { ViewShardFoldHandler } from './handlers/view-shard-fold.handler.js';
import { LikeShardFoldHandler } from './handlers/like-shard-fold.handler.js';
import { CommentShardFoldHandler } from './handlers/comment-shard-fold.handler.js';
import { FeedModule } from '../feed/feed.module.js';
import { FollowsModule } from '../follows/follows.module.js';
import { FeedFanoutHandler } from './handlers/feed-fanout.handler.js';
import {
  FanInPromotionHandler,
  FanInPromotionStepHandler,
  FollowEdgeHandler,
  FollowErasureHandler,
} from './handlers/follow-graph.handlers.js';
import { EventsModule } from '../events/events.module.js';
import { WebhookDispatcher } from '../events/webhook-dispatcher.js';
import { OutboundEventsHandler } from './handlers/outbound-events.handler.js';
import { ActionLinksModule } from '../identity/action-links/action-links.module.js';
import { TransactionalMailHandler } from './handlers/transactional-mail.handler.js';
import { StreamCheckpointsRepository } from './stream-checkpoints.repository.js';
import { DisplayFanoutJobsRepository } from './display-fanout-jobs.repository.js';
import { FanInPromotionJobsRepository } from './fan-in-promotion-jobs.repository.js';
import { StreamDeadLettersRepository } from './stream-dead-letters.repository.js';
import { LambdaDeadLetters } from './lambda-dead-letters.js';
import { StreamPoller } from './stream-poller.js';
import type { StreamHandler } from './stream-handler.js';
import { StreamProcessor } from './stream-processor.js';
import { StreamReplay } from './stream-replay.js';
import { DYNAMODB_STREAMS_CLIENT, STREAM_HANDLERS } from './stream.constants.js';

/**
 * Every effect of the change stream, in the order the processor runs them for a record. Adding
 * a handler is one line here: the list provides each class and, in this order, the
 * `STREAM_HANDLERS` array the processor takes; a class that is not a `StreamHandler` does not compile.
 */
const STREAM_HANDLER_CLASSES = [
  PostCascadeHandler,
  PostCascadeStepHandler,
  // issue 15: a viral post's views, write-sharded and folded into its counter item
  ViewShardFoldHandler,
  // issue 15: a viral post's likes, write-sharded and folded into its counter item (exact, versioned)
  LikeShardFoldHandler,
  // issue 15: a viral post's comment counts, write-sharded and folded into its counter item (exact, versioned)
  CommentShardFoldHandler,
  UserCascadeHandler,
  // a suspended or deactivated account's scheduled posts back to draft (review 21a M3)
  SuspendedAuthorHandler,
  // likes' places follow their posts' visibility (issue 18, `?favorited=` articlesCount)
  LikeVisibilityHandler,
  LikeVisibilityStepHandler,
  LikePlaceHandler,
  AuthorDisplayHandler,
  DisplayFanoutJobHandler,
  AuthorDisplayOnCreateHandler,
  // follows and the personal feed (issue 18)
  FeedFanoutHandler,
  FanInPromotionHandler,
  FanInPromotionStepHandler,
  FollowEdgeHandler,
  FollowErasureHandler,
  // outbound events (issue 17)
  OutboundEventsHandler,
  // transactional mail: links minted and mailed, security notices (issue 17 item 5)
  TransactionalMailHandler,
] as const satisfies readonly Type<StreamHandler>[];

/**
 * The change-stream processor and its local host. With `STREAM_WORKER=inline` the poller runs
 * in this process from start-up to shutdown; otherwise it is idle here and runs in
 * `npm run worker` (src/stream/worker.main.ts) or behind the Lambda handler (src/stream/lambda.ts).
 */
@Module({
  imports: [PostsModule, UsersModule, CommentsModule, FollowsModule, FeedModule, EventsModule, ActionLinksModule],
  providers: [
    ...STREAM_HANDLER_CLASSES,
    {
      provide: STREAM_HANDLERS,
      inject: [...STREAM_HANDLER_CLASSES],
      useFactory: (...handlers: StreamHandler[]) => handlers,
    },
    {
      provide: DYNAMODB_STREAMS_CLIENT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new DynamoDBStreamsClient(awsClientOptions(config.dynamo)),
    },
    AuthorDisplayCopy,
    LikeVisibilitySync,
    DisplayFanoutJobsRepository,
    FanInPromotionJobsRepository,
    PostCascade,
    StreamProcessor,
    StreamCheckpointsRepository,
    StreamDeadLettersRepository,
    LambdaDeadLetters,
    StreamPoller,
    StreamReplay,
  ],
  exports: [StreamProcessor, StreamPoller, StreamReplay, LambdaDeadLetters],
})
export class StreamModule implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly poller: StreamPoller,
    private readonly webhooks: WebhookDispatcher,
    @Inject(DYNAMODB_STREAMS_CLIENT) private readonly streams: DynamoDBStreamsClient,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.streamWorker.mode === 'inline') {
      this.poller.start();
      this.webhooks.start();
    }
  }

  /** Finishes the batch in hand and checkpoints it before the database client closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([this.poller.stop(), this.webhooks.stop()]);
  }

  onApplicationShutdown(): void {
    this.streams.destroy();
  }
}
