/**
 * How long a stream record can come again. The stream itself keeps a record 24 hours, but a record
 * the poller gave up on is kept as a dead letter (`StreamDeadLettersRepository`) and can be replayed
 * (`npm run db:stream-replay`) until the dead letter expires. Items that a replayed record must
 * still find (a stream job's item, a notice's sent-marker) live past that.
 */

/** Dead letters expire (DynamoDB TTL) after this long: 30 days, past the time to look at them. */
export const DEAD_LETTER_TTL_SECONDS = 30 * 24 * 3600;

/**
 * The life of an item a replayed record must still find: a day past a dead letter's. A stream
 * job's item (review 13, M-a1: with 2 days, a step replayed on day 3 found no job and the
 * promotion stopped short), a security notice's sent-marker (with 48 hours, a replay on day 3
 * mailed the notice again).
 */
export const OUTLIVES_REPLAY_TTL_SECONDS = DEAD_LETTER_TTL_SECONDS + 24 * 3600;
