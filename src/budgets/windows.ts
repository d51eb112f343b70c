// Budget windows in UTC: hour, day, ISO week (Monday), month; `run` caps each run separately.
export const budgetWindows = ['hour', 'day', 'week', 'month', 'run'] as const;
export type BudgetWindow = (typeof budgetWindows)[number];

export function windowBounds(window: Exclude<BudgetWindow, 'run'>, at: number): { start: number; end: number } {
  const d = new Date(at);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  switch (window) {
    case 'hour': {
      const start = Math.floor(at / 3_600_000) * 3_600_000;
      return { start, end: start + 3_600_000 };
    }
    case 'day': {
      const start = Date.UTC(y, m, day);
      return { start, end: start + 86_400_000 };
    }
    case 'week': {
      const start = Date.UTC(y, m, day - ((d.getUTCDay() + 6) % 7));
      return { start, end: start + 7 * 86_400_000 };
    }
    case 'month':
      return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
  }
}
