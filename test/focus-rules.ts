// FOCUS 1.2 / 1.3 conformance rules for export rows, as the FinOps Foundation's validator states
// them (presence, types, formats, null rules, allowed values, UnitFormat, unit price × quantity),
// checked on the strings a finance user downloads. Returns every violation as "rule: detail".
export type Row = Record<string, string | null>;

const MANDATORY_12 = ['BilledCost', 'BillingAccountId', 'BillingAccountName', 'BillingCurrency', 'BillingPeriodEnd', 'BillingPeriodStart', 'ChargeCategory', 'ChargeClass',
  'ChargeDescription', 'ChargePeriodEnd', 'ChargePeriodStart', 'ContractedCost', 'EffectiveCost', 'InvoiceIssuerName', 'ListCost', 'PricingQuantity', 'PricingUnit',
  'ProviderName', 'PublisherName', 'ServiceCategory', 'ServiceName'];
// Conditional columns that apply to agent-ledger (unit prices published, negotiated pricing, usage measured, SKUs, sub accounts, tags) and recommended ones.
const CONDITIONAL = ['ConsumedQuantity', 'ConsumedUnit', 'ContractedUnitPrice', 'ListUnitPrice', 'PricingCategory', 'SkuId', 'SkuMeter', 'SkuPriceDetails', 'SkuPriceId',
  'SubAccountId', 'SubAccountName', 'Tags', 'ChargeFrequency', 'ServiceSubcategory', 'InvoiceId'];
const ADDED_13 = ['ServiceProviderName', 'HostProviderName', 'AllocatedMethodId', 'AllocatedMethodDetails', 'AllocatedResourceId', 'AllocatedResourceName', 'AllocatedTags'];

export const SUBCATEGORIES: Record<string, string[]> = {
  'AI and Machine Learning': ['AI Platforms', 'Bots', 'Generative AI', 'Machine Learning', 'Natural Language Processing', 'Other (AI and Machine Learning)'],
  Compute: ['Containers', 'End User Computing', 'Quantum Compute', 'Serverless Compute', 'Virtual Machines', 'Other (Compute)'],
  Databases: ['Caching', 'Data Warehouses', 'Ledger Databases', 'NoSQL Databases', 'Relational Databases', 'Time Series Databases', 'Other (Databases)'],
  Other: ['Other (Other)'],
};

// The validator's UnitFormat expression (data size, time, count units; <unit>-<Times>, <unit>/<Time>, <n> <unit>, <unit>/<n> <Times>).
const size = 'b|Kb|Mb|Gb|Tb|Pb|Eb|B|KB|MB|GB|TB|PB|EB|Kib|Mib|Gib|Tib|Pib|Eib|KiB|MiB|GiB|TiB|PiB|EiB';
const times1 = 'Year|Month|Day|Hour|Minute|Second';
const timesN = 'Years|Months|Days|Hours|Minutes|Seconds';
const count = '[A-Za-z][A-Za-z0-9]*(?:\\s+[A-Za-z][A-Za-z0-9]*)*';
export const UNIT_FORMAT = new RegExp([
  `^(${size}|${times1}|${timesN}|${count})$`, `^(${size}|${count})-(${timesN})$`, `^(${size}|${count}|${timesN})/(${times1})$`,
  `^[0-9]+ (${size}|${times1}|${timesN}|${count})$`, `^(${size}|${count}|${timesN})/[0-9]+ (${timesN})$`,
].map((p) => `(${p})`).join('|'));

const DECIMAL = /^-?\d+(\.\d+)?$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Exact sum of decimal strings of any scale, as a plain decimal string without trailing zeros. */
export function sumDecimals(values: string[]): string {
  const scale = Math.max(0, ...values.map((v) => (v.split('.')[1] ?? '').length));
  const total = values.reduce((acc, v) => {
    const negative = v.startsWith('-');
    const [i, f = ''] = v.replace('-', '').split('.');
    const n = BigInt(i!) * 10n ** BigInt(scale) + BigInt(f.padEnd(scale, '0') || '0');
    return acc + (negative ? -n : n);
  }, 0n);
  const abs = total < 0n ? -total : total;
  const one = 10n ** BigInt(scale);
  const frac = scale ? (abs % one).toString().padStart(scale, '0').replace(/0+$/, '') : '';
  return `${total < 0n ? '-' : ''}${abs / one}${frac ? `.${frac}` : ''}`;
}

/** Exact decimal product check: a × b = r, on decimal strings (BigInt, no floats). */
export function productEquals(a: string, b: string, r: string): boolean {
  const parse = (s: string) => {
    const [i, f = ''] = s.replace('-', '').split('.');
    return { n: BigInt(i! + f) * (s.startsWith('-') ? -1n : 1n), scale: f.length };
  };
  const x = parse(a); const y = parse(b); const z = parse(r);
  const prod = x.n * y.n; const ps = x.scale + y.scale;
  const s = Math.max(ps, z.scale);
  return prod * 10n ** BigInt(s - ps) === z.n * 10n ** BigInt(s - z.scale);
}

const isJsonObject = (s: string) => { try { const v = JSON.parse(s); return v !== null && typeof v === 'object' && !Array.isArray(v); } catch { return false; } };

export function focusViolations(columns: string[], rows: Row[], version: '1.2' | '1.3', month: { start: string; end: string }): string[] {
  const v: string[] = [];
  const need = [...MANDATORY_12, ...CONDITIONAL, ...(version === '1.3' ? ADDED_13 : [])];
  for (const c of need) if (!columns.includes(c)) v.push(`presence: ${c} missing`);
  const firstCustom = columns.findIndex((c) => c.startsWith('x_'));
  for (const [i, c] of columns.entries()) {
    if (!/^(x_)?[A-Z][A-Za-z0-9]*$/.test(c)) v.push(`ColumnHandling: ${c} is not PascalCase alphanumeric (or x_ prefixed)`);
    if (!c.startsWith('x_') && firstCustom >= 0 && i > firstCustom) v.push(`ColumnHandling: FOCUS column ${c} after custom columns`);
    if (!c.startsWith('x_') && !need.includes(c)) v.push(`ColumnHandling: ${c} is neither a FOCUS ${version} column nor x_ prefixed`);
  }
  rows.forEach((r, n) => {
    const bad = (rule: string, detail = '') => v.push(`row ${n + 1} ${rule}${detail ? `: ${detail}` : ''}`);
    const isNull = (c: string) => r[c] === null || r[c] === undefined || r[c] === '';
    const usage = r.ChargeCategory === 'Usage' || r.ChargeCategory === 'Purchase';
    const notCorrection = r.ChargeClass !== 'Correction';
    for (const c of ['BilledCost', 'EffectiveCost', 'ListCost', 'ContractedCost', 'BillingAccountId', 'BillingAccountName', 'BillingCurrency', 'BillingPeriodStart', 'BillingPeriodEnd',
      'ChargeCategory', 'ChargePeriodStart', 'ChargePeriodEnd', 'ChargeFrequency', 'InvoiceIssuerName', 'ProviderName', 'PublisherName', 'ServiceCategory', 'ServiceName',
      'ServiceSubcategory', 'ChargeDescription', 'InvoiceId', ...(version === '1.3' ? ['ServiceProviderName'] : [])]) if (isNull(c)) bad(`${c}: MUST NOT be null`);
    for (const c of ['BilledCost', 'EffectiveCost', 'ListCost', 'ContractedCost', 'ListUnitPrice', 'ContractedUnitPrice', 'PricingQuantity', 'ConsumedQuantity']) {
      if (!isNull(c) && !DECIMAL.test(r[c]!)) bad(`${c}: NumericFormat`, String(r[c]));
    }
    for (const c of ['ListUnitPrice', 'ContractedUnitPrice']) if (!isNull(c) && r[c]!.startsWith('-')) bad(`${c}: MUST be non-negative`);
    for (const c of ['BillingPeriodStart', 'BillingPeriodEnd', 'ChargePeriodStart', 'ChargePeriodEnd']) if (!isNull(c) && !DATETIME.test(r[c]!)) bad(`${c}: DateTimeFormat`, String(r[c]));
    if (r.BillingPeriodStart !== month.start || r.BillingPeriodEnd !== month.end) bad('BillingPeriod: MUST be the billing month bounds');
    if (!(r.ChargePeriodStart! < r.ChargePeriodEnd!)) bad('ChargePeriodStart: MUST be before ChargePeriodEnd');
    if (notCorrection && (r.ChargePeriodStart! < month.start || r.ChargePeriodEnd! > month.end)) bad('ChargePeriod: outside the billing period on a non-correction row');
    if (!/^[A-Z]{3}$/.test(r.BillingCurrency ?? '')) bad('BillingCurrency: CurrencyFormat');
    if (!['Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment'].includes(r.ChargeCategory!)) bad('ChargeCategory: allowed values', String(r.ChargeCategory));
    if (!isNull('ChargeClass') && r.ChargeClass !== 'Correction') bad('ChargeClass: allowed values', String(r.ChargeClass));
    if (!['One-Time', 'Recurring', 'Usage-Based'].includes(r.ChargeFrequency!)) bad('ChargeFrequency: allowed values');
    if (r.ChargeCategory === 'Purchase' && r.ChargeFrequency === 'Usage-Based') bad('ChargeFrequency: MUST NOT be Usage-Based for Purchase');
    if (!isNull('PricingCategory') && !['Standard', 'Dynamic', 'Committed', 'Other'].includes(r.PricingCategory!)) bad('PricingCategory: allowed values');
    if (!SUBCATEGORIES[r.ServiceCategory!]) bad('ServiceCategory: allowed values', String(r.ServiceCategory));
    else if (!SUBCATEGORIES[r.ServiceCategory!]!.includes(r.ServiceSubcategory!)) bad('ServiceSubcategory: one parent ServiceCategory', `${r.ServiceCategory} / ${r.ServiceSubcategory}`);
    if (usage && notCorrection) {
      for (const c of ['SkuId', 'SkuPriceId', 'ListUnitPrice', 'ContractedUnitPrice', 'PricingQuantity', 'PricingUnit', 'PricingCategory', 'ConsumedQuantity', 'ConsumedUnit']) {
        if (isNull(c)) bad(`${c}: MUST NOT be null when ChargeCategory is Usage/Purchase and ChargeClass is not Correction`);
      }
    }
    if (isNull('SkuPriceId')) {
      for (const c of ['ListUnitPrice', 'ContractedUnitPrice', 'PricingQuantity', 'ConsumedQuantity', 'PricingCategory', 'SkuPriceDetails']) if (!isNull(c)) bad(`${c}: MUST be null when SkuPriceId is null`);
    } else for (const c of ['ListUnitPrice', 'ContractedUnitPrice']) if (isNull(c)) bad(`${c}: MUST NOT be null when SkuPriceId is not null`);
    if (r.ChargeCategory !== 'Usage' && !isNull('ConsumedQuantity')) bad('ConsumedQuantity: MUST be null when ChargeCategory is not Usage');
    if (isNull('PricingQuantity') !== isNull('PricingUnit')) bad('PricingUnit: null exactly when PricingQuantity is null');
    if (isNull('ConsumedQuantity') !== isNull('ConsumedUnit')) bad('ConsumedUnit: null exactly when ConsumedQuantity is null');
    if (isNull('SkuId') && !isNull('SkuMeter')) bad('SkuMeter: MUST be null when SkuId is null');
    if (!isNull('SubAccountId') && isNull('SubAccountName')) bad('SubAccountName: MUST NOT be null when SubAccountId is not null');
    for (const c of ['PricingUnit', 'ConsumedUnit']) if (!isNull(c) && !UNIT_FORMAT.test(r[c]!)) bad(`${c}: UnitFormat`, String(r[c]));
    for (const c of ['Tags', 'SkuPriceDetails', 'AllocatedMethodDetails', 'AllocatedTags']) if (!isNull(c) && !isJsonObject(r[c]!)) bad(`${c}: KeyValueFormat / JSON object`);
    if (!isNull('SkuPriceDetails') && Object.keys(JSON.parse(r.SkuPriceDetails!)).some((k) => !k.startsWith('x_'))) bad('SkuPriceDetails: custom keys MUST begin with x_');
    if (!isNull('ListUnitPrice') && !isNull('PricingQuantity') && !productEquals(r.ListUnitPrice!, r.PricingQuantity!, r.ListCost!)) bad('ListCost: MUST equal ListUnitPrice × PricingQuantity', `${r.ListUnitPrice} × ${r.PricingQuantity} ≠ ${r.ListCost}`);
    if (!isNull('ContractedUnitPrice') && !isNull('PricingQuantity') && !productEquals(r.ContractedUnitPrice!, r.PricingQuantity!, r.ContractedCost!)) bad('ContractedCost: MUST equal ContractedUnitPrice × PricingQuantity', `${r.ContractedUnitPrice} × ${r.PricingQuantity} ≠ ${r.ContractedCost}`);
    if (version === '1.3') {
      if (isNull('HostProviderName') && usage) bad('HostProviderName: MUST NOT be null for a usage charge');
      if (!isNull('HostProviderName') && r.HostProviderName !== r.ServiceProviderName) bad('HostProviderName: MUST equal ServiceProviderName when the host is not exposed');
      const allocated = !isNull('x_SharedCostId');
      if (allocated === isNull('AllocatedMethodId')) bad('AllocatedMethodId: null exactly when the charge is not a split cost allocation');
      if (isNull('AllocatedResourceId') !== isNull('AllocatedResourceName')) bad('AllocatedResourceName: null exactly when AllocatedResourceId is null');
      if (!allocated && !isNull('AllocatedTags')) bad('AllocatedTags: MUST be null when not allocated');
      if (allocated && JSON.parse(r.AllocatedMethodDetails ?? '{}').Elements?.[0]?.AllocatedRatio === undefined) bad('AllocatedMethodDetails: Elements[].AllocatedRatio');
    }
  });
  return v;
}

/** RFC 4180 CSV (as ClickHouse writes CSVWithNames) → header + rows, empty unquoted field = null. */
export function parseCsv(text: string): { columns: string[]; rows: Row[] } {
  const records: (string | null)[][] = [];
  let field = ''; let quoted = false; let wasQuoted = false; let rec: (string | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') { quoted = true; wasQuoted = true; } else if (ch === ',' || ch === '\n') {
      rec.push(field === '' && !wasQuoted ? null : field);
      field = ''; wasQuoted = false;
      if (ch === '\n') { records.push(rec); rec = []; }
    } else field += ch;
  }
  const [header, ...body] = records;
  const columns = header!.map(String);
  return { columns, rows: body.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] ?? null]))) };
}
