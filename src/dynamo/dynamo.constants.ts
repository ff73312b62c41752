/** Injection tokens of the DynamoDB module. */
export const DYNAMODB_CLIENT = Symbol('DYNAMODB_CLIENT');
export const DYNAMODB_DOCUMENT_CLIENT = Symbol('DYNAMODB_DOCUMENT_CLIENT');
export const DYNAMODB_TABLE_NAME = Symbol('DYNAMODB_TABLE_NAME');
