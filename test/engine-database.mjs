// Jest `setupFiles` of the e2e project: runs in each test file's context before its tests.
//
// The run's DynamoDB Local (test/global-setup.mjs) keeps one database per access key and region, and
// each test file talks to its own: the test helpers pass this region to every client they make, and
// the commands a test spawns inherit it. Why: DynamoDB Local keeps the stream records of deleted
// tables, and every write to a database slows down with the records it holds. In one shared database
// the last files of a run paid for all the earlier ones (2,000 writes: 4.4 s of engine CPU on a fresh
// database, 26.5 s after ten deleted tables of 1,000 items each; docs/testing.md, "Suite time").
// Jest gives each file its own copy of `process.env`, so the region stays with the file. Each table an app
// of the file creates goes to a database of its own next to it (`<region>-<n>`, test/helpers/databases.ts).
import { randomBytes } from 'node:crypto';

process.env.AWS_REGION = `test-${randomBytes(6).toString('hex')}`;
