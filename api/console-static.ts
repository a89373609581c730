import fs from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';

/**
 * The operator console (console/, a single-page app built at setup) served at `/`: its hashed assets with a
 * long cache, and index.html for every other GET that is not an API or system path, so the app's own routes
 * (/events/…, /plans/…) survive a reload. The console only calls the public /api/v1 routes.
 */
const NOT_SPA = /^\/(api|healthz|readyz|metrics|openapi\.json)(\/|$)/;

/** The default: console/dist of this checkout, found from both api/ (ts) and dist/api/ (compiled). */
export function defaultConsoleDir(): string | undefined {
  for (const up of ['..', '../..']) {
    const dir = path.resolve(__dirname, up, 'console', 'dist');
    if (fs.existsSync(path.join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

const SECURITY_HEADERS: Record<string, string> = {
  // The console loads only its own scripts and styles and talks only to this origin.
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function consoleRouter(dir: string | undefined): express.Router {
  const router = express.Router();
  if (!dir) {
    router.get('/', (_req, res) => {
      res
        .status(404)
        .type('text/plain')
        .send('The console is not built here: run `npm run setup` (it builds console/ into console/dist).\n');
    });
    return router;
  }
  const index = path.join(dir, 'index.html');
  const sendIndex = (res: Response) => {
    res.set({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' });
    res.sendFile(index);
  };
  router.use(
    '/assets',
    express.static(path.join(dir, 'assets'), {
      immutable: true,
      maxAge: '365d',
      index: false,
      fallthrough: false,
    }),
  );
  router.use(
    express.static(dir, {
      index: false,
      setHeaders: (res) => res.set(SECURITY_HEADERS),
    }),
  );
  router.get(/.*/, (req: Request, res: Response, next: NextFunction) => {
    if (NOT_SPA.test(req.path) || !req.accepts('html')) return next();
    sendIndex(res);
  });
  return router;
}
