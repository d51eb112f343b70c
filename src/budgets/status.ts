// Budget status as of an instant: spend in the current window, percentage, the projection to the
// window's end from the burn rate so far, and the day the budget runs out at that rate.
import { fromUnits, divRound } from '../pricing/decimal.js';
import type { Budget, Budgets } from './service.js';
import { windowBounds } from './windows.js';

export async function budgetStatus(budgets: Budgets, b: Budget & { amount: bigint }, at: number) {
  if (b.window === 'run') {
    const { runs } = await budgets.spendAt(b, at);
    const top = [...runs].sort((x, y) => (y[1] > x[1] ? 1 : y[1] < x[1] ? -1 : x[0].localeCompare(y[0]))).slice(0, 10);
    return {
      id: b.id, name: b.name, window: b.window, action: b.action, limit_usd: fromUnits(b.amount), scope: b.scope,
      runs_last_24h: runs.size, runs_exhausted: [...runs.values()].filter((s) => s >= b.amount).length,
      top_runs: top.map(([run_id, spent]) => ({ run_id, spent_usd: fromUnits(spent), pct: Number((spent * 10_000n) / (b.amount || 1n)) / 100 })),
    };
  }
  const { start, end } = windowBounds(b.window, at);
  const { total: spent } = await budgets.spendAt(b, at);
  const elapsed = BigInt(Math.max(1, at - start));
  const length = BigInt(end - start);
  const projected = divRound(spent * length, elapsed);
  // At the current burn rate the budget runs out at start + amount / rate.
  const exhaustionAt = spent > 0n ? start + Number(divRound(b.amount * elapsed, spent)) : null;
  return {
    id: b.id, name: b.name, window: b.window, action: b.action, scope: b.scope,
    window_start: new Date(start).toISOString(), window_end: new Date(end).toISOString(),
    spent_usd: fromUnits(spent), limit_usd: fromUnits(b.amount), remaining_usd: fromUnits(b.amount > spent ? b.amount - spent : 0n),
    pct: Number((spent * 10_000n) / (b.amount || 1n)) / 100,
    exhausted: spent >= b.amount,
    projected_usd: fromUnits(projected),
    on_pace_to_exceed: projected > b.amount,
    projected_exhaustion: exhaustionAt !== null && exhaustionAt < end ? new Date(Math.max(exhaustionAt, start)).toISOString().slice(0, 10) : null,
  };
}
