import { TaxonomyService } from '../taxonomy/taxonomy.service.js';
import { failCommand, runWithAppContext } from './app-context.js';

/**
 * `npm run db:check-counts`: recounts every tag's post links and reports tags whose
 * `postCount` drifted. Exits 1 when any did. Reads every tag: operations tooling, not a request path.
 */
runWithAppContext(async (context) => {
  const drift = await context.get(TaxonomyService).tagCountDrift();
  if (drift.length === 0) {
    console.log('Tag post counts match their links.');
    return;
  }
  for (const d of drift) console.log(`tag ${d.slug} (${d.tagId}): postCount=${d.postCount}, links=${d.links}`);
  process.exitCode = 1;
}).catch(failCommand);
