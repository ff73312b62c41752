/**
 * Which database of the run's DynamoDB Local each table of a test file lives in.
 *
 * The engine keeps one database per region (test/engine-database.mjs gives each test file a
 * region of its own). Within one database, a table created after others have been written to
 * pays for their stream records on every write: 300 `PutItem`s on a new table cost 3-4 ms of
 * engine CPU each in a fresh database and 13-15 ms in one where six tables of 1,000 items had
 * been written (docs/testing.md, "Suite time", session 13). So every table `createTestApp` makes
 * gets a database of its own (`<file's region>-<n>`), and whatever reaches a table by name (a
 * second app on it, a spawned command) looks its region up here.
 *
 * A file that calls `testDatabase()` (test/helpers/data-files.ts) uses one client on the file's
 * own region for every table, so its apps' tables stay in the file's database, as before.
 */
const fileRegion = (): string => {
  const region = process.env.AWS_REGION;
  if (!region) throw new Error('AWS_REGION is not set: run the tests through `npm test`');
  return region;
};

const regions = new Map<string, string>();
let sharedClient = false;
let databases = 0;

/** The region (database) a new table of `createTestApp` goes to, remembered for the table. */
export function placeNewTable(tableName: string): string {
  const region = sharedClient ? fileRegion() : `${fileRegion()}-${++databases}`;
  regions.set(tableName, region);
  return region;
}

/** The region of a table this file made (the file's own region for any other table). */
export const regionOf = (tableName: string): string => regions.get(tableName) ?? fileRegion();

/** Called by `testDatabase()`: from now on, every new table stays in the file's own database. */
export function keepTablesInFileDatabase(): void {
  if (databases > 0)
    throw new Error('testDatabase() after createTestApp made a table elsewhere: call it at the top of the file');
  sharedClient = true;
}
