// Typed errors the SDK throws at the call site, before any money is spent.

/** A wrapped call had no product line (or another required field): fail closed. */
export class AttributionError extends Error {
  readonly code = 'missing_attribution';
  constructor(readonly missing: string[], readonly call: string) {
    super(`agent-ledger: ${call} refused before calling the provider: missing ${missing.join(', ')}. Wrap the work in ledger.run({ product_line_id: ... }) or pass defaults; see docs/instrumentation.md`);
    this.name = 'AttributionError';
  }
}

export type BudgetVerdict = { allow: boolean; reason: string; budgets: { id: string; name: string; action: string; window: string; spent: string; limit: string; remaining: string; exhausted: boolean; would_exceed: boolean }[] };

/** A block budget that applies to this work is exhausted: stop before the spend. */
export class BudgetExceededError extends Error {
  readonly code = 'budget_exhausted';
  constructor(readonly verdict: BudgetVerdict) {
    super(`agent-ledger: ${verdict.reason}`);
    this.name = 'BudgetExceededError';
  }
}

/** The budget check could not be answered and the ledger is configured to fail closed on that. */
export class BudgetCheckUnavailableError extends Error {
  readonly code = 'budget_check_unavailable';
  constructor(cause: string) {
    super(`agent-ledger: budget check unavailable (${cause})`);
    this.name = 'BudgetCheckUnavailableError';
  }
}
