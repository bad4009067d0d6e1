// Builds the UI into dist/ (or the folder given as the first argument):
// index.html, assets/app.js and assets/app.css. The output depends only on
// the sources and the locked packages, so `scripts/test` can rebuild it
// into a scratch folder and compare it with the committed dist/.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2] ?? 'dist';
mkdirSync(join(out, 'assets'), { recursive: true });
await build({
  entryPoints: { app: 'src/main.ts' },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  legalComments: 'eof',
  outdir: join(out, 'assets'),
  logLevel: 'warning',
});
await build({
  entryPoints: { app: 'src/style.css' },
  bundle: true,
  minify: true,
  outdir: join(out, 'assets'),
  logLevel: 'warning',
});
copyFileSync('index.html', join(out, 'index.html'));
