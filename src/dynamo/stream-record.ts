import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import type { ItemKey } from './keys.js';

export type StreamEventName = 'INSERT' | 'MODIFY' | 'REMOVE';

/**
 * A DynamoDB stream record in the shape both hosts receive it: `GetRecords` of the Streams API
 * (creation time as a `Date`) and a Lambda event (creation time in epoch seconds). Images are in
 * DynamoDB JSON (`{ S: '...' }`).
 */
export interface StreamRecord {
  eventID?: string;
  /** `INSERT`, `MODIFY` or `REMOVE` (a string: records are checked when read, see `toItemChange`). */
  eventName?: string;
  dynamodb?: {
    ApproximateCreationDateTime?: Date | number;
    Keys?: Record<string, AttributeValue>;
    NewImage?: Record<string, AttributeValue>;
    OldImage?: Record<string, AttributeValue>;
    SequenceNumber?: string;
  };
}

export type Item = Record<string, NativeAttributeValue>;

/** One item's change, as the handlers see it: plain JavaScript images and the item's key. */
export interface ItemChange {
  /** The record's `eventID` (unique per record, the same when the record is delivered again). */
  eventId?: string;
  event: StreamEventName;
  key: ItemKey;
  oldImage: Item | undefined;
  newImage: Item | undefined;
  sequenceNumber: string;
  /** When DynamoDB wrote the change (to the second on AWS). */
  at: Date;
}

export class MalformedStreamRecordError extends Error {
  constructor(reason: string) {
    super(`malformed stream record: ${reason}`);
    this.name = 'MalformedStreamRecordError';
  }
}

const EVENTS: readonly string[] = ['INSERT', 'MODIFY', 'REMOVE'];

/** The creation time of a record, whichever host delivered it (undefined when absent). */
export function recordTime(record: StreamRecord): Date | undefined {
  const at = record.dynamodb?.ApproximateCreationDateTime;
  if (at === undefined) return undefined;
  return at instanceof Date ? at : new Date(at * 1000);
}

/** Reads a record into an `ItemChange`; a record without an event, a key or a sequence number is refused. */
export function toItemChange(record: StreamRecord): ItemChange {
  const data = record.dynamodb;
  if (!record.eventName || !EVENTS.includes(record.eventName)) throw new MalformedStreamRecordError('no event name');
  if (!data?.SequenceNumber) throw new MalformedStreamRecordError('no sequence number');
  const keys = data.Keys ? unmarshall(data.Keys) : {};
  if (typeof keys.PK !== 'string' || typeof keys.SK !== 'string') throw new MalformedStreamRecordError('no PK/SK');
  return {
    eventId: record.eventID,
    event: record.eventName as StreamEventName,
    key: { PK: keys.PK, SK: keys.SK },
    oldImage: data.OldImage ? unmarshall(data.OldImage) : undefined,
    newImage: data.NewImage ? unmarshall(data.NewImage) : undefined,
    sequenceNumber: data.SequenceNumber,
    at: recordTime(record) ?? new Date(0),
  };
}

/**
 * Sequence numbers are decimal strings of up to 40 digits that grow within a shard: padded to 40
 * they compare as strings, which is what a DynamoDB condition can do.
 */
export const sequencePosition = (sequenceNumber: string): string => sequenceNumber.padStart(40, '0');
