/** Injection tokens of the stream module. */
export const STREAM_HANDLERS = Symbol('STREAM_HANDLERS');
export const DYNAMODB_STREAMS_CLIENT = Symbol('DYNAMODB_STREAMS_CLIENT');
