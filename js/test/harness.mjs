// What the browser tests and the latency script share: the paths of the
// repository, the allcnn command, `allcnn serve` on a free port, and
// Debian's Chromium driven by playwright-core (never a downloaded browser).

import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const web = join(root, 'dist', 'web');

/** The Chromium of Debian's chromium package, as CI installs it. */
export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** checkBuilt fails with advice when dist/web or Chromium is missing. */
export function checkBuilt() {
  if (!existsSync(join(web, 'allcnn.wasm')) || !existsSync(join(web, 'model.msgpack'))) {
    throw new Error(`${web} is not built: run 'make web' (or 'make test-browser') first`);
  }
  if (!existsSync(chromiumPath)) throw new Error(`no browser at ${chromiumPath}: apt-get install chromium (or set CHROMIUM)`);
}

/**
 * allcnn returns the path of the allcnn command: $ALLCNN, or one built now
 * into dir from this checkout (so it is never stale; Go's cache makes it
 * quick).
 */
export function allcnn(dir) {
  if (process.env.ALLCNN) return process.env.ALLCNN;
  const out = join(dir, 'allcnn');
  execFileSync('go', ['build', '-o', out, './cmd/allcnn'], { cwd: root, stdio: 'inherit' });
  return out;
}

/** run runs the allcnn command and returns its standard output. */
export function run(bin, ...args) {
  return execFileSync(bin, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

/**
 * serve starts `allcnn serve` on a free port and resolves to {url, stop}
 * once it prints its address.
 */
export function serve(bin, dir = web) {
  const p = spawn(bin, ['serve', '-addr', '127.0.0.1:0', '-dir', dir], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = () => new Promise(resolve => {
    if (p.exitCode !== null) return resolve(p.exitCode);
    p.once('exit', code => resolve(code));
    p.kill('SIGINT'); // graceful shutdown: exits 0
  });
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', b => {
      out += b;
      const m = out.match(/at (http:\/\/\S+\/)/);
      if (m) resolve({ url: m[1], stop });
    });
    p.once('error', reject);
    p.once('exit', code => reject(new Error(`allcnn serve exited (${code}) before serving: ${out}`)));
  });
}

/** launch starts headless Chromium. */
export function launch() {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
}
