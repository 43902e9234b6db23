// What the browser tests and the latency script share: the paths of the
// repository, the allcnn command, `allcnn serve` on a free port, Debian's
// Chromium driven by playwright-core (never a downloaded browser), and the
// demo opened in it with a log of what went wrong.

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
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
/**
 * teardown closes what a test file's before() opened (any of them may be
 * missing): the browser, the server, which must exit 0 on SIGINT (graceful
 * shutdown), and the temporary folder.
 */
export async function teardown({ browser, srv, tmp }) {
  await browser?.close();
  const code = await srv?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  assert.equal(code, 0, 'allcnn serve should exit 0 on SIGINT (graceful shutdown)');
}

export function launch() {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
}

/**
 * openDemo loads the demo of server ({url}, from serve) in a fresh browser
 * context and waits until it is ready. query: appended to the URL;
 * context: options of browser.newContext (a viewport, say). log collects
 * CSP violations (from the securitypolicyviolation event and from
 * Chromium's console reports, of the page and its workers), console errors
 * and uncaught exceptions.
 */
export async function openDemo(browser, server, { query = '', context: options = {} } = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const log = { violations: [], errors: [] };
  // Injected by the DevTools protocol, so the CSP does not apply to it.
  await page.addInitScript(() => document.addEventListener('securitypolicyviolation',
    e => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`)));
  const note = m => {
    const s = m.text();
    if (/Content Security Policy|CSP violation/i.test(s)) log.violations.push(s);
    else if (m.type() === 'error') log.errors.push(s);
  };
  page.on('console', note);
  page.on('worker', w => w.on('console', note));
  page.on('pageerror', e => log.errors.push(`uncaught: ${e.message}`));
  const response = await page.goto(server.url + query);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.documentElement.dataset.state));
  assert.equal(await page.textContent('#error'), '', 'the demo should load without errors');
  return { page, log, response, close: () => context.close() };
}

/** clean asserts that nothing went wrong in the page (openDemo's log). */
export function clean(log) {
  assert.deepEqual(log.violations, [], 'CSP violations');
  assert.deepEqual(log.errors, [], 'console errors');
}
