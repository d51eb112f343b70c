// Exactly-once with many writers (docs/ingestion.md "Many writers"): three API processes on one
// ClickHouse (the HTTP endpoint for tests), overlapping and identical batches posted through all
// of them at once, the applier's process SIGKILLed mid-way. A client retries what was not
// acknowledged, as real clients do; in the end the ledger, its views and the API's totals equal
// the set of acknowledged events exactly, and a survivor took over the apply.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { startApiProcesses, type ServerProcess } from './server-process.js';
import { startClickHouseHttp, type ClickHouseHttp } from './clickhouse-http-endpoint.js';
import { addDecimals, makeEvent } from './helper.js';

const DATABASE = 'many_writers_test';
const IDS = 2400;
const BATCH = 150;
let endpoint: ClickHouseHttp;
let sql: ClickHouseClient;
let procs: ServerProcess[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// One event per id, always sent with the same content; its cost encodes the id, so the exact sum
// proves which ids were counted and how often.
const event = (i: number) => makeEvent({
  event_id: `mw-${i}`, product_line_id: 'many-writers', run_id: `mw-run-${i % 97}`, segment: ['smb', 'enterprise'][i % 2],
  timestamp: new Date(Date.UTC(2026, 2, 1 + (i % 20), i % 24)).toISOString(), cost_usd: `${i}.000001`,
});

async function rows<T>(query: string): Promise<T[]> {
  return (await sql.query({ query, format: 'JSONEachRow' })).json<T>();
}

beforeAll(async () => {
  endpoint = await startClickHouseHttp();
  sql = createClient({ url: endpoint.url, database: DATABASE });
  procs = await startApiProcesses(3, endpoint.url, {
    CLICKHOUSE_DATABASE: DATABASE, LOAD_PRICE_CATALOG: 'false',
    // A short lease so the takeover after the kill is quick; polling slower than the default
    // because the test endpoint runs one query at a time for all three processes.
    APPLIER_LEASE_MS: '3000', APPLY_TIMEOUT_MS: '1500', APPLIER_POLL_MS: '150', BUDGET_EVAL_INTERVAL_MS: '0',
  });
}, 180_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await sql?.close();
  await endpoint?.stop();
});

it('counts every acknowledged event exactly once across three processes, one killed mid-way', async () => {
  // Overlapping windows of ids (each id in two or three batches), some batches sent to every
  // process at the same instant; batch order shuffled deterministically.
  const batches: number[][] = [];
  for (let start = 0; start < IDS; start += BATCH / 2) batches.push(Array.from({ length: Math.min(BATCH, IDS - start) }, (_, k) => start + k));
  for (let k = 0; k < 6; k++) batches.push(batches[k * 5]!);
  batches.sort((a, b) => ((a[0]! * 7919) % 101) - ((b[0]! * 7919) % 101));

  const acknowledged = new Set<number>();
  const alive = () => procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  let retries = 0;
  const send = async (p: ServerProcess, ids: number[]): Promise<boolean> => {
    try {
      const res = await fetch(`${p.url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: ids.map(event) }) });
      if (res.status !== 200) return false;
      const receipt = (await res.json()) as { accepted: number; duplicates: number };
      expect(receipt.accepted + receipt.duplicates).toBe(ids.length);
      for (const id of ids) acknowledged.add(id);
      return true;
    } catch {
      return false; // the process died under the request: not acknowledged
    }
  };
  /** What a client does: send until some process acknowledges. */
  const deliver = async (ids: number[], first: ServerProcess) => {
    for (let attempt = 0, p = first; ; attempt++) {
      if (await send(p, ids)) return;
      retries++;
      if (attempt > 40) throw new Error('no process acknowledged the batch');
      await sleep(200);
      const live = alive();
      p = live[attempt % live.length]!;
    }
  };

  // The applier's process: the owner of the newest lease term names its pid.
  const leaseOwner = async () => {
    const [row] = await rows<{ owner: string }>("SELECT argMin(owner, claimed_at) AS owner FROM ledger_claims WHERE startsWith(key, 'lease:applier:') GROUP BY key ORDER BY key DESC LIMIT 1");
    return row?.owner ?? '';
  };
  let killed: ServerProcess | undefined;
  const work = batches.map(async (ids, i) => {
    await sleep(i * 40);
    if (i === Math.floor(batches.length / 2)) {
      const owner = await leaseOwner();
      killed = procs.find((p) => owner.startsWith(`${p.child.pid}-`)) ?? procs[0]!;
      killed.child.kill('SIGKILL');
    }
    // Every fifth batch goes to all processes at once (a retry storm); the others round-robin.
    if (i % 5 === 0) await Promise.all(alive().map((p) => deliver(ids, p)));
    else await deliver(ids, alive()[i % alive().length]!);
  });
  await Promise.all(work);
  expect(killed).toBeDefined();
  expect(acknowledged.size).toBe(IDS);

  // Visible everywhere once applied: poll a survivor's totals (rollup path: the views were fed).
  const survivor = alive()[0]!;
  const expectedCost = addDecimals([...acknowledged].map((i) => `${i}.000001`));
  let totals: { events: number; cost_usd: string } | undefined;
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${survivor.url}/api/v1/agent-costs?from=2026-03-01&to=2026-04-01&product_line=many-writers&source=rollup`);
    const body = (await res.json()) as { totals?: { events: number; cost_usd: string } };
    if (res.status !== 200) console.log(`agent-costs answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
    totals = body.totals;
    if (totals && totals.events >= IDS) break;
    await sleep(300);
  }
  expect(totals).toMatchObject({ events: IDS, cost_usd: expectedCost });

  // The ledger itself, the idempotency index and run_facts agree: every id once, no more.
  const [ledger] = await rows<{ n: number; ids: number; cost: string }>("SELECT count() AS n, uniqExact(event_id) AS ids, toString(sum(cost_usd)) AS cost FROM cost_events WHERE product_line_id = 'many-writers'");
  expect(ledger).toEqual({ n: IDS, ids: IDS, cost: expectedCost });
  const [facts] = await rows<{ events: number; cost: string }>("SELECT sum(events) AS events, toString(sum(cost_usd)) AS cost FROM run_facts FINAL WHERE product_line_id = 'many-writers'");
  expect(facts).toEqual({ events: IDS, cost: expectedCost });
  const [bySegment] = await rows<{ smb: string }>("SELECT toString(sumIf(cost_usd, segment = 'smb')) AS smb FROM cost_business_daily WHERE product_line_id = 'many-writers'");
  expect(bySegment!.smb).toBe(addDecimals([...acknowledged].filter((i) => i % 2 === 0).map((i) => `${i}.000001`)));

  // A survivor holds the lease now (a later term than the killed process's).
  const owner = await leaseOwner();
  expect(owner.startsWith(`${killed!.child.pid}-`)).toBe(false);
  expect(procs.some((p) => p !== killed && owner.startsWith(`${p.child.pid}-`))).toBe(true);
  console.log(`many writers: ${batches.length} batches, ${retries} client retries after the kill, lease now held by ${owner}`);
}, 180_000);
