// The built-in dashboard: web/ holds plain browser ES modules (no build step); this plugin serves
// them, and the vendor bundles they import straight from node_modules, under /ui/<build>/, and the
// page shell at / and each page path. <build> is a hash of the app's files and the vendor packages'
// versions, so assets are cached for good and an upgrade changes every URL. Everything is local:
// the page needs no network but this process, and it reads only the public API (/api/v1).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { projectPath } from '../sql.js';

/** Page paths the shell answers (the client routes between them; a link to any of them works). */
export const dashboardPages = ['/', '/explore', '/agents', '/customers', '/finance', '/guardrails'] as const;

const require = createRequire(import.meta.url);
const WEB = projectPath('web');

/** A package's directory, found from its entry point (some packages do not export package.json). */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json')) || JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name !== name) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`dashboard: package ${name} not found`);
    dir = up;
  }
  return dir;
}
const packageVersion = (name: string) => JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')).version as string;

/** Vendor files by the name the import map uses; only these are served from node_modules (and Mermaid's chunks). */
function vendorFiles(): Record<string, string> {
  return {
    'preact.mjs': join(packageDir('preact'), 'dist', 'preact.mjs'),
    'preact-hooks.mjs': join(packageDir('preact'), 'hooks', 'dist', 'hooks.mjs'),
    'htm.mjs': join(packageDir('htm'), 'dist', 'htm.mjs'),
    'echarts.mjs': join(packageDir('echarts'), 'dist', 'echarts.esm.min.mjs'),
  };
}

/** Every file of web/, relative to it. */
function webFiles(dir = WEB): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory()
    ? webFiles(join(dir, d.name))
    : [relative(WEB, join(dir, d.name)).split('\\').join('/')]));
}

/** The build id: the app's files and the vendor versions; it changes whenever any of them does. */
function buildId(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files.sort()) h.update(f).update(readFileSync(join(WEB, f)));
  for (const p of ['preact', 'htm', 'echarts', 'mermaid']) h.update(`${p}@${packageVersion(p)}`);
  return h.digest('hex').slice(0, 12);
}

/**
 * The shell: /ui/ URLs pointed at this build, every app module preloaded at once (instead of being
 * discovered import by import), and a Content-Security-Policy that allows only this origin and the
 * inline import map.
 */
function loadShell(files: string[], assets: string, keysConfigured: boolean) {
  const preload = [...files.filter((f) => f.endsWith('.js')).map((f) => `${assets}${f}`), `${assets}vendor/preact-hooks.mjs`, `${assets}vendor/htm.mjs`]
    .map((href) => `<link rel="modulepreload" href="${href}">`).join('\n');
  const html = readFileSync(join(WEB, 'index.html'), 'utf8')
    .replaceAll('"/ui/', `"${assets}`)
    .replace(`<script type="module" src="${assets}app.js"></script>`, `${preload}\n<script type="module" src="${assets}app.js"></script>`)
    // Whether a key is needed, so the app asks for one before calling the API (no 401 on first load).
    .replace('<meta charset="utf-8">', `<meta charset="utf-8">\n<meta name="agent-ledger-keys" content="${keysConfigured ? 'required' : 'none'}">`);
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (importMap === undefined) throw new Error('dashboard: web/index.html has no import map');
  const hash = createHash('sha256').update(importMap).digest('base64');
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${hash}'`,
    // Mermaid and ECharts set inline styles on the SVG and elements they draw.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

const immutable = (reply: FastifyReply) => reply.header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff');

export const dashboardRoutes: FastifyPluginAsync<{ keysConfigured: boolean }> = async (app, opts) => {
  const files = webFiles();
  const assets = `/ui/${buildId(files)}/`;
  const shell = loadShell(files, assets, opts.keysConfigured);
  const vendor = vendorFiles();
  for (const file of Object.values(vendor)) if (!existsSync(file)) throw new Error(`dashboard: missing vendor file ${file} (run npm install)`);

  // The app's own files (never the raw index.html: the shell is served below).
  await app.register(fastifyStatic, {
    root: WEB, prefix: assets, index: false, cacheControl: false,
    allowedPath: (path) => path !== '/index.html',
    setHeaders: (reply) => void immutable(reply),
  });
  // Mermaid's ES build: its entry and the chunks it loads on demand, nothing else of the package.
  await app.register(fastifyStatic, {
    root: join(packageDir('mermaid'), 'dist'), prefix: `${assets}vendor/mermaid/`, decorateReply: false, index: false, cacheControl: false,
    allowedPath: (path) => path === '/mermaid.esm.min.mjs' || /^\/chunks\/mermaid\.esm\.min\/[\w.-]+\.mjs$/.test(path),
    setHeaders: (reply) => void immutable(reply),
  });

  const hidden = { schema: { hide: true } };
  app.get(`${assets}vendor/:file`, hidden, async (request, reply) => {
    const file = vendor[(request.params as { file: string }).file];
    if (!file) return reply.callNotFound();
    return immutable(reply).sendFile(file.split('/').pop()!, dirname(file), { cacheControl: false });
  });

  for (const path of dashboardPages) {
    app.get(path, hidden, async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', shell.csp)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .send(shell.html));
  }
};
