// The dashboard's serving side without a browser: the shell at every page path with its security
// headers, the app's modules and the vendor bundles from node_modules (nothing else of them), no
// network reference in the page, the API's own 404s untouched, and GET /api/v1/whoami.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardPages } from '../src/dashboard/plugin.js';
import { projectPath } from '../src/sql.js';
import { buildTestApp, type TestApp } from './helper.js';

describe('dashboard assets', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => t.close());

  it('serves the shell at every page path with a same-origin Content-Security-Policy', async () => {
    for (const path of dashboardPages) {
      const res = await t.app.inject({ url: path });
      expect(res.statusCode, path).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('<script type="importmap">');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
      expect(csp).toContain("connect-src 'self'");
    }
    // The query string is the view; the shell does not care.
    expect((await t.app.inject({ url: '/explore?group_by=model&granularity=day' })).statusCode).toBe(200);
  });

  it('serves the app modules and exactly the vendor files the import map names, cached for good under the build id', async () => {
    const shell = (await t.app.inject({ url: '/' })).body;
    const assets = /<script type="module" src="(\/ui\/[0-9a-f]{12}\/)app\.js"><\/script>/.exec(shell)![1]!;
    const map = JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(shell)![1]!).imports as Record<string, string>;
    expect(Object.values(map).every((url) => url.startsWith(`${assets}vendor/`))).toBe(true);
    // Every app module is preloaded by the shell, so the browser fetches them in one round.
    const preloaded = [...shell.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]);
    expect(preloaded).toEqual(expect.arrayContaining([`${assets}app.js`, `${assets}pages/overview.js`, `${assets}lib/api.js`]));
    for (const url of [...Object.values(map), ...preloaded, `${assets}style.css`, `${assets}favicon.svg`]) {
      const res = await t.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['cache-control'], url).toContain('immutable');
      if (/js$/.test(url!)) expect(res.headers['content-type'], url).toMatch(/javascript/);
    }
    // Mermaid's on-demand chunks come along; nothing else of node_modules does, nor another build's URLs.
    const chunk = readdirSync(join(projectPath('node_modules'), 'mermaid', 'dist', 'chunks', 'mermaid.esm.min')).find((f) => f.endsWith('.mjs'))!;
    expect((await t.app.inject({ url: `${assets}vendor/mermaid/chunks/mermaid.esm.min/${chunk}` })).statusCode).toBe(200);
    for (const url of [`${assets}vendor/mermaid/package.json`, `${assets}vendor/mermaid/mermaid.js`, `${assets}vendor/lodash.mjs`, `${assets}index.html`,
      `${assets}../package.json`, `${assets}%2e%2e/package.json`, '/ui/app.js', '/ui/000000000000/app.js']) {
      expect((await t.app.inject({ url })).statusCode, url).toBe(404);
    }
  });

  it('every module import resolves locally: relative, or through the import map (no CDN, no network)', async () => {
    const shell = readFileSync(projectPath('web', 'index.html'), 'utf8');
    const mapped = Object.keys(JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(shell)![1]!).imports);
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(join(dir, d.name)) : [join(dir, d.name)]));
    for (const file of files(projectPath('web')).filter((f) => /\.(js|html|css)$/.test(f))) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/(src|href)=["']https?:|import\s*\(?\s*['"]https?:|url\(\s*['"]?https?:/);
      for (const [, spec] of text.matchAll(/(?:^|\s)(?:import|export)\b[^'"`;]*?from\s+'([^']+)'/gm)) {
        expect(spec!.startsWith('.') || mapped.includes(spec!), `${file}: import '${spec}'`).toBe(true);
      }
      for (const [, spec] of text.matchAll(/import\('([^']+)'\)/g)) expect(mapped.includes(spec!) || spec!.startsWith('.'), `${file}: import('${spec}')`).toBe(true);
    }
  });

  it('leaves the API and the docs alone: unknown API paths are still problem documents', async () => {
    const res = await t.app.inject({ url: '/api/v1/no-such-route' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect((await t.app.inject({ url: '/docs' })).statusCode).toBeLessThan(400);
  });
});

describe('GET /api/v1/whoami', () => {
  it('says an open loopback server treats the caller as admin', async () => {
    const t = await buildTestApp();
    try {
      const res = await t.app.inject({ url: '/api/v1/whoami' });
      expect(res.json()).toEqual({ role: 'admin', product_lines: null, keys_configured: false });
    } finally { await t.close(); }
  });

  it('tells each key its role and scope, and asks for a key when none is sent', async () => {
    const t = await buildTestApp({ API_KEYS: 'admin:a-key,read:r-key,export:e-key,ingest:i-key,read:team-key:support|search' });
    try {
      const who = async (key?: string) => t.app.inject({ url: '/api/v1/whoami', headers: key ? { authorization: `Bearer ${key}` } : {} });
      expect((await who('a-key')).json()).toEqual({ role: 'admin', product_lines: null, keys_configured: true });
      expect((await who('r-key')).json()).toEqual({ role: 'read', product_lines: null, keys_configured: true });
      expect((await who('e-key')).json().role).toBe('export');
      expect((await who('i-key')).json().role).toBe('ingest');
      expect((await who('team-key')).json()).toEqual({ role: 'read', product_lines: ['support', 'search'], keys_configured: true });
      const missing = await who();
      expect(missing.statusCode).toBe(401);
      expect(missing.json().reason).toBe('missing_api_key');
      expect((await who('wrong')).json().reason).toBe('invalid_api_key');
    } finally { await t.close(); }
  });
});
