// Latency of allcnn.js in headless Chromium: median milliseconds of
// classify and of a guided-backpropagation saliency map for one 32×32
// image, in a Web Worker and in the page thread, with the SIMD128 kernels
// and with Go's scalar code (simd: false), after warm-up. The model
// travels as bytes, so any weight file works:
//
//	make web && go run ./cmd/allcnn init -arch all-cnn-c -o /tmp/full.msgpack
//	node js/test/latency.mjs /tmp/full.msgpack [runs]
//
// prints one JSON line.

import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { web, checkBuilt, allcnn, serve, launch } from './harness.mjs';

const [path = join(web, 'model.msgpack'), runs = '15'] = process.argv.slice(2);
checkBuilt();
const tmp = mkdtempSync(join(tmpdir(), 'allcnn-latency-'));
const srv = await serve(allcnn(tmp));
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(srv.url);
  const out = await page.evaluate(async ({ model, runs }) => {
    const { AllCNN } = await import('./allcnn.js');
    const bytes = Uint8Array.from(atob(model), c => c.charCodeAt(0));
    const canvas = new OffscreenCanvas(32, 32);
    const ctx = canvas.getContext('2d');
    for (let i = 0; i < 64; i++) {
      ctx.fillStyle = `hsl(${i * 37} 70% ${30 + (i % 5) * 10}%)`;
      ctx.fillRect((i % 8) * 4, (i >> 3) * 4, 4, 4);
    }
    const img = await createImageBitmap(canvas);
    const median = xs => xs.sort((a, b) => a - b)[xs.length >> 1];
    const time = async (n, f) => {
      const ts = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await f();
        ts.push(performance.now() - t0);
      }
      return ts;
    };
    const r = {};
    for (const [mode, worker, simd] of [['worker', true, true], ['page', false, true], ['worker scalar', true, false], ['page scalar', false, false]]) {
      const t0 = performance.now();
      const m = await AllCNN.load({ model: bytes, worker, ...(!simd && { simd: false }) });
      if (m.simd !== simd) throw new Error(`${mode}: simd is ${m.simd}`);
      const load = performance.now() - t0;
      const classify = () => m.classify(img);
      const guided = () => m.saliency(img, { method: 'guided' });
      await time(3, classify);
      await time(3, guided);
      const c = await time(runs, classify);
      const g = await time(runs, guided);
      r[mode] = { load_ms: +load.toFixed(1), classify_ms: +median(c).toFixed(1), classify_min_ms: +Math.min(...c).toFixed(1), guided_ms: +median(g).toFixed(1), guided_min_ms: +Math.min(...g).toFixed(1), runs };
      m.dispose();
    }
    return r;
  }, { model: readFileSync(path).toString('base64'), runs: Number(runs) });
  console.log(JSON.stringify({ model: path, browser: browser.version(), ...out }));
} finally {
  await browser.close();
  await srv.stop();
  rmSync(tmp, { recursive: true, force: true });
}
