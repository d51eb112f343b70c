// The anomaly figures are exact quotients rounded half to even at their places (12 for money per
// day and per event, 3 for the ratio), not truncated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeEvent, post, rows, type TestApp } from './helper.js';

const as = (key: string) => ({ authorization: `Bearer ${key}` });
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: 'admin:adm,read:rd,ingest:ing', BUDGET_EVAL_INTERVAL_MS: 0 });
  const events: Record<string, unknown>[] = [];
  // Baseline: 15 events costing 14.5 in the 10:00 hour of the 7 days before (14.5 / 7 a day, 14.5 / 15 an event).
  for (let d = 1; d <= 7; d++) for (let i = 0; i < 2; i++) events.push(makeEvent({ product_line_id: 'anom-r', feature: 'rounding', timestamp: new Date(Date.UTC(2026, 1, d, 10, 15)).toISOString(), cost_usd: '1' }));
  events.push(makeEvent({ product_line_id: 'anom-r', feature: 'rounding', timestamp: new Date(Date.UTC(2026, 1, 7, 10, 30)).toISOString(), cost_usd: '0.5' }));
  // The hour judged: 6 events costing 55.
  for (let i = 0; i < 6; i++) events.push(makeEvent({ product_line_id: 'anom-r', feature: 'rounding', timestamp: new Date(Date.UTC(2026, 1, 8, 10, 20)).toISOString(), cost_usd: i === 0 ? '10' : '9' }));
  expect((await post(t.app, events, as('ing'))).json().accepted).toBe(events.length);
  await t.app.ingestor.settle();
});
afterAll(async () => t.close());

describe('anomaly figures', () => {
  it('rounds the baseline, the costs per event and the ratios half to even', async () => {
    const res = await t.app.inject({ url: '/api/v1/anomalies?dimension=feature&window=1h&at=2026-02-08T11:00:00Z', headers: as('rd') });
    expect(res.statusCode).toBe(200);
    const common = {
      dimension: 'feature', value: 'rounding', hour: '2026-02-08T10:00:00.000Z', cost_usd: '55', events: 6,
      baseline_cost_usd: '2.071428571429', // 14.5 / 7 = 2.0714285714285…, truncated 2.071428571428
      cost_per_event: '9.166666666667', // 55 / 6 = 9.1666…, truncated 9.166666666666
      baseline_cost_per_event: '0.966666666667', // 14.5 / 15 = 0.9666…, truncated 0.966666666666
    };
    expect(res.json().anomalies).toEqual([
      { ...common, kind: 'spend', ratio: 26.552 }, // 55 × 7 / 14.5 = 26.5517…, truncated 26.551
      { ...common, kind: 'cost_per_event', ratio: 9.483 }, // (55 / 6) / (14.5 / 15) = 9.4827…, truncated 9.482
    ]);
  });

  it('keeps the notification key of an anomaly as it was before hours were ISO (none is announced twice after an upgrade)', async () => {
    await t.app.guard.evaluate({ anomalies: true, at: Date.parse('2026-02-08T11:00:00Z') });
    const keys = await rows<{ dedup_key: string; hour: string }>(t.app, "SELECT dedup_key, JSONExtractString(payload, 'data', 'hour') AS hour FROM notifications FINAL WHERE type = 'anomaly.detected' ORDER BY dedup_key");
    expect(keys).toEqual([
      { dedup_key: 'anomaly:feature:rounding:2026-02-08 10:00:00:cost_per_event', hour: '2026-02-08T10:00:00.000Z' },
      { dedup_key: 'anomaly:feature:rounding:2026-02-08 10:00:00:spend', hour: '2026-02-08T10:00:00.000Z' },
      // the same events by model (every event here is gpt-4o)
      { dedup_key: 'anomaly:model:gpt-4o:2026-02-08 10:00:00:spend', hour: '2026-02-08T10:00:00.000Z' },
    ]);
  });
});
