// The ClickHouse HTTP endpoint for tests speaks what @clickhouse/client expects: parameters arrive
// verbatim (tabs, quotes, backslashes, arrays, long lists), settings apply to one request only,
// errors become ClickHouseError with ClickHouse's code, credentials are checked, compression works
// both ways, and formats (JSON, CSV, Parquet) come back as asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { startClickHouseHttp, type ClickHouseHttp } from './clickhouse-http-endpoint.js';

let endpoint: ClickHouseHttp;
const clients: ClickHouseClient[] = [];
const client = (opts: Parameters<typeof createClient>[0] = {}) => {
  const c = createClient({ url: endpoint.url, username: 'ledger', password: 's3cret', database: 'proto', log: { level: ClickHouseLogLevel.OFF }, ...opts });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  endpoint = await startClickHouseHttp({ user: 'ledger', password: 's3cret' });
  await client({ database: undefined }).command({ query: 'CREATE DATABASE proto' });
  await client().command({ query: "CREATE TABLE claims (k String, v Decimal(38, 12), at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY k SETTINGS non_replicated_deduplication_window = 100" });
}, 120_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await endpoint?.stop();
});

describe('ClickHouse HTTP endpoint for tests', () => {
  it('binds parameters verbatim, including escapes, arrays and lists too long for a default URL', async () => {
    const c = client();
    const odd = "tab\there, quote ' back\\slash\nline";
    await c.insert({ table: 'claims', values: [{ k: odd, v: '1.000000000001', at: '2026-01-15T12:00:00Z' }], format: 'JSONEachRow' });
    const many = Array.from({ length: 20_000 }, (_, i) => `id-${i}-padding-padding`);
    const rs = await c.query({ query: 'SELECT k, toString(v) AS v FROM claims WHERE k = {k:String} AND k IN {ks:Array(String)} AND k NOT IN {many:Array(String)}', query_params: { k: odd, ks: [odd, "a'b"], many }, format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ k: odd, v: '1.000000000001' }]);
  });

  it('applies settings to one request only: a deduplication token never reaches the next insert', async () => {
    const c = client();
    const claim = (owner: string, token?: string) => c.insert({ table: 'claims', values: [{ k: `claim-${owner}`, v: '0', at: '2026-01-15 00:00:00' }], format: 'JSONEachRow', clickhouse_settings: token ? { insert_deduplicate: 1, insert_deduplication_token: token } : {} });
    await claim('a', 'tok');
    await claim('b', 'tok'); // deduplicated by the token
    await claim('c'); // no token: stored
    const rs = await c.query({ query: "SELECT k FROM claims WHERE startsWith(k, 'claim-') ORDER BY k", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ k: 'claim-a' }, { k: 'claim-c' }]);
    const setting = await c.query({ query: "SELECT getSetting('insert_deduplication_token') AS t", format: 'JSONEachRow' });
    expect(await setting.json()).toEqual([{ t: '' }]);
  });

  it('raises ClickHouseError with the engine code, and refuses wrong credentials', async () => {
    const err = await client().query({ query: 'SELECT * FROM missing_table', format: 'JSONEachRow' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClickHouseError);
    expect(err).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    const syntax = await client().command({ query: 'SELEC 1' }).catch((e: unknown) => e);
    expect(syntax).toMatchObject({ code: '62', type: 'SYNTAX_ERROR' });
    const denied = await client({ password: 'wrong' }).query({ query: 'SELECT 1', format: 'JSONEachRow' }).catch((e: unknown) => e);
    expect(denied).toMatchObject({ code: '516', type: 'AUTHENTICATION_FAILED' });
    expect(await client({ password: 'wrong' }).ping()).toEqual({ success: true }); // /ping needs no credentials
  });

  it('compresses requests and responses when asked, and returns the asked format', async () => {
    const c = client({ compression: { request: true, response: true } });
    await c.insert({ table: 'claims', values: [{ k: 'gz', v: '2.5', at: '2026-01-15 00:00:00' }], format: 'JSONEachRow' });
    const json = await c.query({ query: "SELECT k, v FROM claims WHERE k = 'gz'", format: 'JSON', clickhouse_settings: { output_format_json_quote_decimals: 1 } });
    expect((await json.json<{ k: string; v: string }>()).data).toEqual([{ k: 'gz', v: '2.5' }]);
    const csv = await c.exec({ query: "SELECT k, v FROM claims WHERE k = 'gz' FORMAT CSVWithNames" });
    let text = '';
    for await (const chunk of csv.stream) text += chunk;
    expect(text).toBe('"k","v"\n"gz",2.5\n');
    const parquet = await c.exec({ query: 'SELECT k, v FROM claims FORMAT Parquet' });
    const chunks: Buffer[] = [];
    for await (const chunk of parquet.stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).subarray(0, 4).toString()).toBe('PAR1');
  });
});
