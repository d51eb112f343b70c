// Instants to and from ClickHouse DateTime64(3, 'UTC') text ("2026-01-31 12:00:00.000").
export const toClickHouseTime = (t: number | string | Date) => new Date(t).toISOString().replace('T', ' ').replace('Z', '');
/** The same to the second, for a DateTime('UTC') parameter. */
export const toClickHouseSecond = (t: number | string | Date) => toClickHouseTime(t).slice(0, 19);
export const fromClickHouseTime = (text: string) => Date.parse(`${text.replace(' ', 'T')}Z`);
/** A ClickHouse UTC time as the API gives every time: ISO-8601 UTC (2026-02-08T10:00:00.000Z). */
export const isoFromClickHouseTime = (text: string) => new Date(fromClickHouseTime(text)).toISOString();
