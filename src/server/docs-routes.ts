// Gateway-owned GET routes beside the API: the OpenAPI document as JSON and YAML, and an
// interactive docs page. They are explicit Fastify routes, so find-my-way picks them before the
// pipeline's wildcard; an API route that answers GET on the same path wins instead (the docs
// route is then not registered and a warning names the clash), so enabling docs never changes
// what an API path serves.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import { RouteTable } from '../routing/index.js';
import type { CompiledRoute } from '../transcode/compiled-route.js';

/** Where the docs are served, and the document they show. */
export interface DocsRoutesOptions {
  /** Path of the docs page, e.g. `/docs`; its assets live under it. */
  readonly docsPath: string;
  /** Path of the document without extension: `${openapiPath}.json` and `.yaml` are served. */
  readonly openapiPath: string;
  readonly document: Record<string, unknown>;
}

/** What `registerDocsRoutes` did: the paths it serves, and those an API route kept. */
export interface DocsRoutesResult {
  readonly served: readonly string[];
  readonly shadowed: readonly string[];
}

// Swagger UI (swagger-ui-dist): actively maintained, renders OpenAPI 3.1, ships as static files we
// serve ourselves (no CDN, works offline), and its "Try it out" sends real requests to this same
// origin, so the docs page exercises the gateway itself. Only the files the page loads are served.
const SWAGGER_UI_ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};
const INITIALIZER = 'docs-initializer.js';

/** The directory of the installed swagger-ui-dist package. */
function swaggerUiDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

/** Registers the docs routes on `app` (before it listens). */
export function registerDocsRoutes(
  app: FastifyInstance,
  apiRoutes: readonly CompiledRoute[],
  options: DocsRoutesOptions,
  logger: Logger,
): DocsRoutesResult {
  const table = new RouteTable<CompiledRoute>();
  for (const route of apiRoutes) table.add(route.spec.httpMethod, route.template, route);
  const served: string[] = [];
  const shadowed: string[] = [];
  const serve = (url: string, contentType: string, body: () => Promise<string | Buffer>, cacheControl = 'no-cache'): void => {
    const match = table.match('GET', url);
    if (match.kind === 'found') {
      shadowed.push(url);
      logger.warn(
        { path: url, rpc: match.route.spec.grpcPath },
        `GET ${url} is an API route, so the docs are not served there (move them with docs.path / docs.openapiPath, or set docs.enabled: false)`,
      );
      return;
    }
    served.push(url);
    app.get(url, async (_request, reply) => reply.header('cache-control', cacheControl).type(contentType).send(await body()));
  };

  const json = `${JSON.stringify(options.document, null, 2)}\n`;
  let yaml: string | undefined;
  const jsonUrl = `${options.openapiPath}.json`;
  serve(jsonUrl, 'application/json', async () => json);
  // RFC 9512 registers application/yaml.
  serve(`${options.openapiPath}.yaml`, 'application/yaml', async () => (yaml ??= stringify(options.document)));

  const title = typeof (options.document['info'] as { title?: unknown } | undefined)?.title === 'string'
    ? (options.document['info'] as { title: string }).title
    : 'API';
  serve(options.docsPath, 'text/html; charset=utf-8', async () => docsPage(options.docsPath, title));
  const initializer = docsInitializer(jsonUrl);
  serve(`${options.docsPath}/${INITIALIZER}`, 'text/javascript; charset=utf-8', async () => initializer);
  const dir = swaggerUiDir();
  const assets = new Map<string, Promise<Buffer>>();
  for (const [file, contentType] of Object.entries(SWAGGER_UI_ASSETS)) {
    const load = (): Promise<Buffer> => {
      let loaded = assets.get(file);
      if (loaded === undefined) {
        loaded = readFile(path.join(dir, file));
        assets.set(file, loaded);
      }
      return loaded;
    };
    serve(`${options.docsPath}/${file}`, contentType, load, 'public, max-age=3600');
  }
  return { served, shadowed };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page: Swagger UI's own index.html, with absolute asset paths and our initializer. */
function docsPage(docsPath: string, title: string): string {
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>${escapeHtml(title)} — API docs</title>
    <link rel="stylesheet" type="text/css" href="${docsPath}/swagger-ui.css">
    <link rel="icon" type="image/png" href="${docsPath}/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${docsPath}/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="${docsPath}/${INITIALIZER}" charset="UTF-8"></script>
  </body>
</html>
`;
}

/** A separate script rather than inline, so the page works under a strict Content-Security-Policy. */
function docsInitializer(documentUrl: string): string {
  return `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(documentUrl)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
};
`;
}
