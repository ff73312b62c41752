import { DomainError } from '../errors/domain-error.js';
import { ExportContentBudget } from './content-budget.js';

describe('ExportContentBudget', () => {
  it('counts text as JSON holds it, across every call, and refuses past the budget with 422 export_too_large', () => {
    const budget = new ExportContentBudget(10);
    budget.spend('abc'); // "abc": 5
    budget.spend('ab'); // "ab": 4, 9 in all
    const error = (() => {
      try {
        budget.spend('');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ status: 422, code: 'export_too_large' });
  });

  it('spends escaped characters as escaped: one control character is six', () => {
    const exact = new ExportContentBudget(8);
    exact.spend('\u0001'); // "\u0001": 8
    expect(() => new ExportContentBudget(7).spend('\u0001')).toThrow(DomainError);
  });
});
