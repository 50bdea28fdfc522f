import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type Router } from 'express';

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>geotrigger API</title>
  <link rel="stylesheet" href="./swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="./swagger-ui-bundle.js"></script>
  <script src="./init.js"></script>
</body>
</html>
`;

const INIT_JS = `window.ui = SwaggerUIBundle({
  url: '../openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: false,
  validatorUrl: null,
});
`;

/**
 * The /docs page: Swagger UI served from the swagger-ui-dist package on disk (no CDN, works
 * offline), pointed at this server's /openapi.json.
 */
export function createDocsRouter(): Router {
  const require = createRequire(import.meta.url);
  const distDir = dirname(require.resolve('swagger-ui-dist/package.json'));
  const router = express.Router({ strict: true });
  router.get('/', (req, res, next) => {
    // Relative asset URLs need the trailing slash.
    if (!req.originalUrl.split('?')[0].endsWith('/')) {
      res.redirect(301, `${req.baseUrl}/`);
      return;
    }
    next();
  });
  router.get('/', (_req, res) => {
    res.type('html').send(INDEX_HTML);
  });
  router.get('/init.js', (_req, res) => {
    res.type('application/javascript').send(INIT_JS);
  });
  router.use(express.static(distDir, { index: false, maxAge: '1h', fallthrough: true }));
  return router;
}
