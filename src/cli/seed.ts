import { failCommand, runWithAppContext } from './app-context.js';
import { seedDemoData } from './seed-data.js';

/** `npm run db:seed`: see `seed-data.ts`. */
runWithAppContext(seedDemoData).catch(failCommand);
