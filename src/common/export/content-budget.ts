import { exportContentTooLarge } from '../errors/domain-error.js';

/**
 * The characters of free text (post contents, comment contents) one personal-data export may
 * still hold, as JSON: one budget for every section (review 5, #1), spent as each page is read,
 * so neither memory nor the answer grows past `EXPORT_MAX_CONTENT_CHARS`. An item count alone
 * bounds neither: a post holds up to 200 KB, and a comment's control characters grow six-fold
 * when escaped.
 */
export class ExportContentBudget {
  private left: number;

  constructor(private readonly max: number) {
    this.left = max;
  }

  /** Counts `text` as the answer will hold it (quoted and escaped); past the budget, 422 `export_too_large`. */
  spend(text: string): void {
    this.left -= JSON.stringify(text).length;
    if (this.left < 0) throw exportContentTooLarge(this.max);
  }
}
