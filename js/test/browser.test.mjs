// Browser tests of the JS package and the demo: headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core) loads dist/web from
// `allcnn serve`, whose strict Content-Security-Policy is in force
// throughout. Run with `make test-browser` (it builds dist/web first), or
// `node --test js/test/` after `make web`.
//
// The image is a real CIFAR-10 photo, extracted at test time from
// ../shared/data beside the checkout; the tests that need it are skipped
// without it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, web, checkBuilt, allcnn, run, serve, launch, openDemo, clean, teardown } from './harness.mjs';

const data = join(root, '..', 'shared', 'data', 'cifar10-train-jpg.tar.gz');
const noData = !existsSync(data) && `no CIFAR-10 images at ${data}`;
const modes = [['worker', true], ['page thread', false]];

let tmp, bin, srv, browser;
let cat; // the path of a CIFAR-10 JPEG
let tiny; // base64 of an eighth-width All-CNN-C, fast enough for hundreds of calls

before(async () => {
  checkBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'allcnn-browser-'));
  bin = allcnn(tmp);
  if (!noData) {
    execFileSync('tar', ['xzf', data, '-C', tmp, 'train/cat/0000.jpg'], { cwd: root });
    cat = join(tmp, 'train', 'cat', '0000.jpg');
  }
  run(bin, 'init', '-arch', 'all-cnn-c', '-width', '0.125', '-o', join(tmp, 'tiny.msgpack'));
  tiny = readFileSync(join(tmp, 'tiny.msgpack')).toString('base64');
  srv = await serve(bin);
  browser = await launch();
});

after(() => teardown({ browser, srv, tmp }));

/** open loads the demo (harness.openDemo) of server, by default dist/web's. */
const open = (query = '', server = srv) => openDemo(browser, server, { query });

test('the demo classifies a chosen image and draws three maps', { skip: noData, timeout: 120_000 }, async t => {
  const { page, log, close } = await open();
  const done = () => page.waitForFunction(() => ['done', 'error'].includes(document.documentElement.dataset.state), null, { timeout: 60_000 });
  await page.setInputFiles('#file', cat);
  await done();
  assert.equal(await page.textContent('#error'), '');
  assert.equal(await page.locator('#top li').count(), 5);
  const maps = () => page.evaluate(() => ['gradient', 'deconvnet', 'guided'].map(m => {
    const c = document.getElementById(`map-${m}`);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return { size: [c.width, c.height], colours: new Set(Array.from({ length: d.length / 4 }, (_, i) => d[4 * i] << 16 | d[4 * i + 1] << 8 | d[4 * i + 2])).size, label: c.getAttribute('aria-label') };
  }));
  for (const m of await maps()) {
    assert.deepEqual(m.size, [32, 32]);
    assert.ok(m.colours > 10, `a map of ${m.colours} colours is blank: ${m.label}`);
  }
  // A unit of a layer of the switched net.
  await page.check('#switches');
  const layer = await page.evaluate(() => [...document.querySelectorAll('#layer option')].map(o => o.value).find(v => v.endsWith('.pool')) ?? '');
  await page.selectOption('#layer', layer);
  await page.selectOption('#unit', '3');
  await done();
  assert.match(await page.textContent('#explained'), new RegExp(`Explaining ${layer.replace('.', '\\.')} channel 3 at \\(\\d+, \\d+\\), with switches`));
  t.diagnostic(`${await page.textContent('#timing')} ${await page.textContent('#explained')} (layer ${layer})`);
  clean(log);
  await close();
});

test('the switches choice is offered where it changes the net, and changes the maps', { skip: noData, timeout: 180_000 }, async () => {
  // All-CNN-C: ticking it explains the same class on the switched net
  // (Figs. 4–5), whose maps differ; unticking it brings the plain maps back.
  const { page, log, close } = await open();
  const done = () => page.waitForFunction(() => ['done', 'error'].includes(document.documentElement.dataset.state), null, { timeout: 60_000 });
  const maps = () => page.evaluate(() => ['gradient', 'deconvnet', 'guided'].map(m => {
    const c = document.getElementById(`map-${m}`);
    return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
  }));
  assert.ok(await page.isVisible('#switches'), 'All-CNN-C should offer the switched net');
  await page.setInputFiles('#file', cat);
  await done();
  const plain = await maps();
  await page.check('#switches');
  await done();
  assert.match(await page.textContent('#explained'), /^Explaining class .+, with switches;/);
  const switched = await maps();
  for (const [i, m] of ['gradient', 'deconvnet', 'guided'].entries()) {
    assert.notDeepEqual(switched[i], plain[i], `${m}: the map with switches equals the plain one`);
  }
  await page.uncheck('#switches');
  await done();
  assert.doesNotMatch(await page.textContent('#explained'), /with switches/);
  assert.deepEqual(await maps(), plain, 'unticking should give the plain maps again');
  clean(log);
  await close();

  // Model C has no stride-2 convolutions: it is its own switched net, and
  // the choice is hidden.
  const dir = join(tmp, 'model-c');
  cpSync(web, dir, { recursive: true });
  run(bin, 'init', '-arch', 'model-c', '-width', '0.125', '-o', join(dir, 'model.msgpack'));
  const c = await serve(bin, dir);
  try {
    const { page, log, close } = await open('', c);
    assert.match(await page.textContent('#status'), /Model: model-c/i);
    assert.equal(await page.isVisible('#switches'), false, 'Model C should not offer the switched net');
    clean(log);
    await close();
  } finally {
    assert.equal(await c.stop(), 0);
  }
});

test('classify agrees with native allcnn predict, in a worker and in the page thread', { skip: noData, timeout: 120_000 }, async t => {
  const { page, log, close } = await open();
  const got = await page.evaluate(async jpeg => {
    const { AllCNN } = await import('./allcnn.js');
    const bytes = Uint8Array.from(atob(jpeg), c => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/jpeg' }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    // Every kind of image gives the same pixels, so the same answer.
    const images = { bitmap, canvas, imageData: ctx.getImageData(0, 0, canvas.width, canvas.height), blob: new Blob([bytes], { type: 'image/jpeg' }) };
    const out = {};
    for (const worker of [true, false]) {
      const m = await AllCNN.load({ model: 'model.msgpack', worker });
      for (const [kind, img] of Object.entries(images)) {
        const c = await m.classify(img, { top: Infinity });
        out[`${worker ? 'worker' : 'page'} ${kind}`] = { top: c.top, probs: Array.from(c.probs) };
      }
      m.dispose();
    }
    // The pixels Chromium's JPEG decoder gave, losslessly, for the native side.
    const png = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    return { results: out, png: btoa(Array.from(png, b => String.fromCharCode(b)).join('')) };
  }, readFileSync(cat).toString('base64'));

  const first = Object.values(got.results)[0];
  for (const [name, r] of Object.entries(got.results)) {
    assert.deepEqual(r, first, `${name} differs from ${Object.keys(got.results)[0]}`);
  }
  assert.equal(first.top.length, 10);
  assert.ok(first.top.every((c, i) => i === 0 || first.top[i - 1].prob >= c.prob), 'top is sorted');
  assert.ok(Math.abs(first.probs.reduce((a, b) => a + b) - 1) < 1e-5, 'probabilities sum to 1');

  const png = join(tmp, 'cat-as-decoded-by-chromium.png');
  writeFileSync(png, Buffer.from(got.png, 'base64'));
  const native = JSON.parse(run(bin, 'predict', '-model', 'dist/web/model.msgpack', '-top', '10', '-json', png, cat));
  const diff = n => {
    const p = new Float64Array(10);
    for (const c of n.top) p[c.index] = c.prob;
    return Math.max(...first.probs.map((q, i) => Math.abs(q - p[i])));
  };
  // Same pixels: only float rounding differs (native BLAS vs Go in wasm).
  const [samePixels, jpeg] = native;
  t.diagnostic(`top-1 ${first.top[0].name} ${first.top[0].prob.toFixed(4)}; max |Δp| vs native: ${diff(samePixels).toExponential(2)} on Chromium's pixels, ${diff(jpeg).toExponential(2)} on Go's own JPEG decoding`);
  assert.equal(samePixels.top[0].index, first.top[0].index, 'top-1 on the same pixels');
  assert.ok(diff(samePixels) < 1e-5, `max |Δp| ${diff(samePixels)} on the same pixels`);
  // Go's and Chromium's JPEG decoders differ by a few levels per pixel, and
  // how much that moves the probabilities depends on the model (1.3e-2 for
  // the 75.8% model, 2.9e-3 for the 63% one, 8.9e-4 for the 88.5% one); a
  // swapped channel order or an upside-down image moves them by far more
  // (0.18 and 0.16 with native predict on this image).
  assert.ok(diff(jpeg) < 3e-2, `max |Δp| ${diff(jpeg)} on the JPEG`);
  clean(log);
  await close();
});

test('saliency maps are the same in a worker and in the page thread', { timeout: 120_000 }, async t => {
  const { page, log, close } = await open();
  const got = await page.evaluate(async () => {
    const { AllCNN } = await import('./allcnn.js');
    // A smooth, asymmetric test image drawn on a canvas.
    const canvas = new OffscreenCanvas(40, 36);
    const ctx = canvas.getContext('2d');
    const g = ctx.createLinearGradient(0, 0, 40, 36);
    g.addColorStop(0, '#c33');
    g.addColorStop(1, '#3c9');
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, 40, 36);
    ctx.fillStyle = '#fe4';
    ctx.fillRect(8, 10, 12, 9);
    const img = await createImageBitmap(canvas);
    const requests = [
      { method: 'gradient' },
      { method: 'deconvnet' },
      { method: 'guided' },
      { method: 'guided', layer: 'conv6', at: [3, 4], colormap: 'viridis', reduce: 'maxabs' },
      { method: 'deconvnet', layer: 'conv3', switches: true, sign: 'positive', clip: 99.5 },
      { method: 'guided', unit: 2, overlay: 0.5, colormap: 'rgb' },
    ];
    const out = {};
    for (const worker of [true, false]) {
      const m = await AllCNN.load({ model: 'model.msgpack', worker });
      const info = await m.info();
      out[worker] = {
        info,
        globals: { process: typeof process, path: typeof path, Go: typeof Go, allcnn: typeof allcnn },
        maps: await Promise.all(requests.map(async r => {
          const s = await m.saliency(img, r);
          return { raw: Array.from(s.raw), rgba: Array.from(s.rgba), size: [s.width, s.height], imageData: s.imageData instanceof ImageData, unit: s.unit, at: s.at };
        })),
      };
      m.dispose();
    }
    return out;
  });
  const [w, p] = [got.true, got.false];
  assert.deepEqual(w.info, p.info);
  const [c, h, wd] = w.info.input;
  for (const [i, m] of w.maps.entries()) {
    assert.deepEqual(m, p.maps[i], `map ${i}: worker and page thread differ`);
    assert.equal(m.raw.length, c * h * wd);
    assert.deepEqual(m.size, [wd, h]);
    assert.ok(m.imageData);
    assert.ok(m.raw.some(v => v !== 0), `map ${i} is all zeros`);
  }
  assert.deepEqual(w.maps[3].at, [3, 4]);
  assert.notDeepEqual(w.maps[0].raw, w.maps[2].raw, 'gradient and guided maps should differ');
  // The page-thread instance leaves the page's globals as they were.
  assert.deepEqual(p.globals, { process: 'undefined', path: 'undefined', Go: 'undefined', allcnn: 'undefined' });
  t.diagnostic(`${w.maps.length} requests, raw and RGBA identical in both modes`);
  clean(log);
  await close();
});

test('maps shared among workers are those of one worker', { timeout: 180_000 }, async t => {
  // The shipped model on a sample image: SmoothGrad's noisy copies and
  // integrated gradients' points split among 3 workers (5 copies: 1, 2 and
  // 2), reduced and drawn by one, against one worker computing them all;
  // the other maps, and the switched net's, go to one worker whole.
  const { page, log, close } = await open();
  const got = await page.evaluate(async () => {
    const { AllCNN } = await import('./allcnn.js');
    const img = await createImageBitmap(await (await fetch('samples/cat.jpg')).blob());
    const requests = [
      { method: 'smoothgrad' },
      { method: 'smoothgrad', samples: 12, noise: 0.2, seed: 7, reduce: 'maxabs', sign: 'absolute', clip: 99, overlay: 0.4 },
      { method: 'smoothgrad2', samples: 5, rule: 'guided', pool: 'spread' },
      { method: 'vargrad', samples: 2, layer: 'conv6', unit: 3 },
      { method: 'integrated', steps: 7, baseline: 'blur', layer: 'conv6', at: [2, 5] },
      { method: 'integrated' },
      { method: 'smoothgrad', samples: 4, switches: true },
      { method: 'guided', colormap: 'inferno' },
    ];
    const maps = async workers => {
      const m = await AllCNN.load({ model: 'model.msgpack', workers });
      const out = [];
      for (const r of requests) {
        const s = await m.saliency(img, r);
        out.push({ raw: Array.from(s.raw), rgba: Array.from(s.rgba), unit: s.unit, at: s.at, size: [s.width, s.height] });
      }
      const errors = [];
      for (const r of [{ method: 'smoothgrad', samples: 'x' }, { method: 'smoothgrad', rule: 'bad' }, { method: 'integrated', unit: 99 }, { method: 'vargrad', layer: 'conv6', at: [9, 0] }, { method: 'smoothgrad', layer: 'nope' }]) {
        errors.push(await m.saliency(img, r).then(() => 'no error', e => e.message));
      }
      // Calls at once go to the workers in parallel and still settle as
      // their own.
      const concurrent = await Promise.all(['gradient', 'deconvnet', 'guided'].map(method => m.saliency(img, { method }).then(s => Array.from(s.raw))));
      m.dispose();
      return { out, errors, concurrent };
    };
    const loadErrors = [];
    for (const o of [{ workers: 0 }, { workers: 1.5 }, { workers: 2, worker: false }]) {
      loadErrors.push(await AllCNN.load({ model: 'model.msgpack', ...o }).then(m => { m.dispose(); return 'no error'; }, e => e.message));
    }
    return { one: await maps(1), three: await maps(3), loadErrors };
  });
  // The same map, to float rounding: a batch of other examples rounds an
  // example's last bits differently (kernel.Noise.Batch; the Go tests show
  // the copies bit for bit equal when each runs alone), which moves a drawn
  // pixel by a level at most.
  const diffs = [];
  for (const [i, want] of got.one.out.entries()) {
    const have = got.three.out[i];
    assert.deepEqual([have.unit, have.at, have.size], [want.unit, want.at, want.size], `request ${i}: unit, place and size`);
    const scale = Math.max(...want.raw.map(Math.abs));
    const raw = Math.max(...have.raw.map((v, k) => Math.abs(v - want.raw[k]))) / scale;
    const levels = have.rgba.map((v, k) => Math.abs(v - want.rgba[k]));
    assert.ok(raw <= 1e-5, `request ${i}: the raw map of 3 workers differs from one worker's by ${raw} of its scale`);
    assert.ok(Math.max(...levels) <= 1, `request ${i}: the drawn map of 3 workers differs from one worker's by ${Math.max(...levels)} levels`);
    diffs.push(`${raw.toExponential(1)} (${levels.filter(d => d > 0).length} levels)`);
  }
  assert.deepEqual(got.three.errors, got.one.errors, 'the errors of 3 workers should be those of one');
  for (const e of got.one.errors) assert.match(e, /^allcnn\.saliency: /);
  assert.deepEqual(got.three.concurrent, got.one.concurrent);
  assert.match(got.loadErrors[0], /^allcnn\.load: option workers=0: want an integer from 1 to 64$/);
  assert.match(got.loadErrors[1], /^allcnn\.load: option workers=1\.5/);
  assert.match(got.loadErrors[2], /^allcnn\.load: option workers=2 needs worker: true$/);
  t.diagnostic(`3 workers against 1, max |Δ| of each raw map over its scale (and the drawn values that moved): ${diffs.join(', ')}`);
  t.diagnostic(`errors: ${got.one.errors.join(' | ')}`);
  clean(log);
  await close();
});

test('an imported ONNX net of another input size loads, classifies and explains as PyTorch does', { timeout: 120_000 }, async t => {
  // onnx/testdata/maxpool.onnx: a torch.onnx.export'ed net on 3×22×18
  // images (max-pools with ceil mode), with PyTorch's logits and maps of
  // two images in maxpool.json (tools/onnx_nets.py writes both).
  const golden = JSON.parse(readFileSync(join(root, 'onnx', 'testdata', 'maxpool.json'), 'utf8'));
  const file = join(tmp, 'imported.msgpack');
  run(bin, 'import', '-mean', golden.mean.join(','), '-std', golden.std.join(','), '-o', file, join(root, 'onnx', 'testdata', 'maxpool.onnx'));
  const model = readFileSync(file).toString('base64');
  const [n, c, h, w] = golden.shape;
  const classes = golden.logits.length / n;
  const { page, log, close } = await open();
  const got = await page.evaluate(async ({ model, pixels, c, h, w, n }) => {
    const { AllCNN } = await import('./allcnn.js');
    const m = await AllCNN.load({ model: Uint8Array.from(atob(model), ch => ch.charCodeAt(0)) });
    const info = await m.info();
    const out = { input: info.input, probs: [], gradient: [], guided: [] };
    for (let i = 0; i < n; i++) {
      // The image at the net's own size, so that nothing is resampled.
      const data = new Uint8ClampedArray(4 * h * w);
      for (let p = 0; p < h * w; p++) {
        for (let k = 0; k < c; k++) data[4 * p + k] = pixels[(i * c + k) * h * w + p];
        data[4 * p + 3] = 255;
      }
      const img = { data, width: w, height: h };
      const { probs, top } = await m.classify(img, { top: Infinity });
      out.probs.push(Array.from(probs));
      for (const method of ['gradient', 'guided']) {
        const s = await m.saliency(img, { method, unit: top[0].index });
        out[method].push(Array.from(s.raw));
      }
    }
    m.dispose();
    return out;
  }, { model, pixels: golden.pixels, c, h, w, n });
  assert.deepEqual(got.input, [c, h, w]);
  const rel = (a, b) => {
    const scale = Math.max(...b.map(Math.abs));
    return Math.max(...a.map((v, i) => Math.abs(v - b[i]))) / scale;
  };
  for (let i = 0; i < n; i++) {
    const z = golden.logits.slice(i * classes, (i + 1) * classes);
    const e = z.map(v => Math.exp(v - Math.max(...z)));
    const want = e.map(v => v / e.reduce((a, b) => a + b, 0));
    const dp = Math.max(...got.probs[i].map((v, k) => Math.abs(v - want[k])));
    assert.ok(dp < 1e-5, `image ${i}: probabilities differ from PyTorch's by ${dp}`);
    for (const method of ['gradient', 'guided']) {
      const size = c * h * w;
      const d = rel(got[method][i], golden[method].slice(i * size, (i + 1) * size));
      assert.ok(d < 1e-4, `image ${i}: ${method} map differs from PyTorch's by ${d} of its scale`);
      t.diagnostic(`image ${i}: |Δp| ${dp.toExponential(1)}, ${method} ${d.toExponential(1)} of scale`);
    }
  }
  clean(log);
  await close();
});

// ALLCNN_TWIN_DIR: the run folder of tools/torch/twin.py, trained under
// torchrun by 'make test-ddp', with the weight file it imported and
// PyTorch's probabilities for its reference images.
const twin = process.env.ALLCNN_TWIN_DIR;
test('the PyTorch twin\'s weight file classifies in the browser as in PyTorch', {
  skip: !twin && 'ALLCNN_TWIN_DIR is not set (make test-ddp sets it)', timeout: 120_000,
}, async t => {
  const model = readFileSync(join(twin, 'model.msgpack')).toString('base64');
  const ref = JSON.parse(readFileSync(join(twin, 'reference.json'), 'utf8'));
  assert.ok(ref.length > 0, 'reference.json lists no images');
  const { page, log, close } = await open();
  const got = await page.evaluate(async ({ model, ref }) => {
    const { AllCNN } = await import('./allcnn.js');
    const m = await AllCNN.load({ model: Uint8Array.from(atob(model), ch => ch.charCodeAt(0)) });
    const out = [];
    for (const { shape: [c, h, w], pixels } of ref) {
      const data = new Uint8ClampedArray(4 * h * w);
      for (let p = 0; p < h * w; p++) {
        for (let k = 0; k < c; k++) data[4 * p + k] = pixels[k * h * w + p];
        data[4 * p + 3] = 255;
      }
      const { probs } = await m.classify({ data, width: w, height: h }, { top: Infinity });
      out.push(Array.from(probs));
    }
    m.dispose();
    return out;
  }, { model, ref });
  let worst = 0;
  ref.forEach((r, i) => r.probs.forEach((p, k) => { worst = Math.max(worst, Math.abs(got[i][k] - p)); }));
  assert.ok(worst < 1e-5, `probabilities differ from PyTorch's by up to ${worst}`);
  t.diagnostic(`${ref.length} images, |Δp| ≤ ${worst.toExponential(1)}`);
  clean(log);
  await close();
});

test('the SIMD128 kernels and the scalar fallback agree, in a worker and in the page thread', { timeout: 180_000 }, async t => {
  const { page, log, close } = await open();
  const got = await page.evaluate(async () => {
    const { AllCNN } = await import('./allcnn.js');
    const canvas = new OffscreenCanvas(32, 32);
    const ctx = canvas.getContext('2d');
    for (let i = 0; i < 64; i++) {
      ctx.fillStyle = `hsl(${i * 37} 70% ${30 + (i % 5) * 10}%)`;
      ctx.fillRect((i % 8) * 4, (i >> 3) * 4, 4, 4);
    }
    const img = await createImageBitmap(canvas);
    // A module that does not validate stands for an engine without SIMD128.
    const invalid = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0xff]);
    const out = [];
    for (const worker of [true, false]) {
      for (const [name, simd] of [['default', undefined], ['simd: false', false], ['no SIMD128', invalid]]) {
        const m = await AllCNN.load({ model: 'model.msgpack', worker, ...(simd !== undefined && { simd }) });
        const t0 = performance.now();
        const c = await m.classify(img, { top: Infinity });
        const t1 = performance.now();
        const s = await m.saliency(img, { method: 'guided' });
        const t2 = performance.now();
        out.push({ worker, name, simd: m.simd, probs: Array.from(c.probs), raw: Array.from(s.raw), unit: s.unit, ms: [t1 - t0, t2 - t1] });
        m.dispose();
      }
    }
    return out;
  });
  const maxDiff = (a, b) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  const ref = got.find(r => r.worker && r.name === 'simd: false');
  const scale = Math.max(1, ...ref.raw.map(Math.abs));
  for (const r of got) {
    const mode = `${r.worker ? 'worker' : 'page thread'}, ${r.name}`;
    assert.equal(r.simd, r.name === 'default', `${mode}: simd`);
    const dp = maxDiff(r.probs, ref.probs);
    const dm = maxDiff(r.raw, ref.raw);
    t.diagnostic(`${mode}: simd ${r.simd}; max |Δp| ${dp.toExponential(2)}, guided map max |Δ| ${dm.toExponential(2)} (max |v| ${scale.toPrecision(3)}) against the scalar code; classify ${r.ms[0].toFixed(0)} ms, guided ${r.ms[1].toFixed(0)} ms (first call)`);
    assert.ok(dp < 1e-5, `${mode}: probabilities differ by ${dp}`);
    assert.equal(r.unit, ref.unit, `${mode}: explained unit`);
    assert.ok(dm <= 1e-4 * scale, `${mode}: guided maps differ by ${dm}`);
  }
  clean(log);
  await close();
});

test('failures reject with clear messages and the page keeps working', { timeout: 120_000 }, async () => {
  const { page, log, close } = await open();
  const got = await page.evaluate(async tiny => {
    const { AllCNN } = await import('./allcnn.js');
    const model = Uint8Array.from(atob(tiny), c => c.charCodeAt(0));
    const message = async p => {
      try {
        await p;
        return 'resolved';
      } catch (e) {
        return e instanceof Error ? e.message : `not an Error: ${e}`;
      }
    };
    const out = {};
    for (const worker of [true, false]) {
      const r = {};
      r.badBytes = await message(AllCNN.load({ model: new Uint8Array([0x82, 0xa1, 0x61, 1, 2, 3]), worker }));
      r.noModel = await message(AllCNN.load({ worker }));
      r.missingModel = await message(AllCNN.load({ model: 'missing.msgpack', worker }));
      r.missingWasm = await message(AllCNN.load({ model, wasm: 'missing.wasm', worker }));
      r.missingSimd = await message(AllCNN.load({ model, simd: 'missing-simd.wasm', worker }));
      r.unknownLoadOption = await message(AllCNN.load({ model, threads: 2 }));
      const m = await AllCNN.load({ model, worker });
      const img = new ImageData(8, 8);
      r.string = await message(m.classify('cat.jpg'));
      r.nothing = await message(m.classify());
      r.shortData = await message(m.classify({ data: new Uint8Array(10), width: 8, height: 8 }));
      r.notLoaded = await message(m.classify(new Image()));
      r.notAnImage = await message(m.classify(new Blob(['GIF89a, not really'], { type: 'image/gif' })));
      r.badMethod = await message(m.saliency(img, { method: 'lrp' }));
      r.unknownOption = await message(m.saliency(img, { colour: 'red' }));
      r.badLayer = await message(m.saliency(img, { layer: 'conv99' }));
      r.badUnit = await message(m.saliency(img, { unit: 10 }));
      r.badAt = await message(m.saliency(img, { layer: 'conv1', at: [99, 0] }));
      r.ok = (await m.classify(img)).probs.length;
      const inFlight = message(m.saliency(img, { method: 'guided' }));
      m.dispose();
      r.inFlight = await inFlight;
      r.afterDispose = await message(m.classify(img));
      r.infoAfterDispose = await message(m.info());
      m.dispose(); // twice is harmless
      const again = await AllCNN.load({ model, worker });
      r.again = (await again.saliency(img, { method: 'guided' })).raw.length;
      again.dispose();
      out[worker ? 'worker' : 'page'] = r;
    }
    return out;
  }, tiny);
  for (const [mode, r] of Object.entries(got)) {
    const want = {
      badBytes: /^allcnn\.load: format: /,
      noModel: /^allcnn\.load: options\.model is required/,
      missingModel: /^allcnn\.load: .*missing\.msgpack: HTTP 404/,
      missingWasm: /^allcnn\.load: .*missing\.wasm: HTTP 404/,
      missingSimd: /^allcnn\.load: fetching the SIMD kernels .*missing-simd\.wasm: HTTP 404/,
      unknownLoadOption: /^allcnn\.load: unknown option threads/,
      string: /^allcnn\.classify: unsupported image \(cat\.jpg\)/,
      nothing: /^allcnn\.classify: unsupported image \(undefined\)/,
      shortData: /^allcnn\.classify: image data holds 10 bytes; 8×8 RGBA pixels are 256/,
      notLoaded: /^allcnn\.classify: the image has not loaded/,
      notAnImage: /^allcnn\.classify: cannot decode the image \(image\/gif\)/,
      badMethod: /^allcnn\.saliency: allcnn: option method="lrp"/,
      unknownOption: /^allcnn\.saliency: allcnn: option colour="red": .*unknown option/,
      badLayer: /^allcnn\.saliency: .*conv99/,
      badUnit: /^allcnn\.saliency: allcnn: class 10 outside \[0, 10\)/,
      badAt: /^allcnn\.saliency: allcnn: position \(99,0\) outside/,
      ok: 10,
      inFlight: /^allcnn\.saliency: the model was disposed/,
      afterDispose: /^allcnn\.classify: the model was disposed/,
      infoAfterDispose: /^allcnn\.info: the model was disposed/,
      again: 3 * 32 * 32,
    };
    for (const [k, v] of Object.entries(want)) {
      if (v instanceof RegExp) assert.match(r[k], v, `${mode}: ${k}`);
      else assert.equal(r[k], v, `${mode}: ${k}`);
    }
  }
  assert.deepEqual(log.violations, []);
  // The 404s are logged by Chromium; nothing else may be.
  assert.deepEqual(log.errors.filter(e => !/404/.test(e)), []);
  await close();
});

test('the JS heap stays flat over 200 classify and saliency calls', { timeout: 300_000 }, async t => {
  const { page, log, close } = await open();
  const cdp = await page.context().newCDPSession(page);
  const heap = async () => {
    for (let i = 0; i < 3; i++) await cdp.send('HeapProfiler.collectGarbage');
    return cdp.send('Runtime.getHeapUsage');
  };
  const calls = async n => page.evaluate(async n => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      await globalThis.m.classify(globalThis.img);
      await globalThis.m.saliency(globalThis.img, { method: ['gradient', 'deconvnet', 'guided'][i % 3] });
    }
    return performance.now() - t0;
  }, n);
  const MB = 1 << 20;
  for (const [mode, worker] of modes) {
    await page.evaluate(async ({ tiny, worker }) => {
      const { AllCNN } = await import('./allcnn.js');
      globalThis.m = await AllCNN.load({ model: Uint8Array.from(atob(tiny), c => c.charCodeAt(0)), worker });
      const canvas = new OffscreenCanvas(32, 32);
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = '#4a8';
      ctx.fillRect(0, 0, 32, 32);
      ctx.fillStyle = '#e52';
      ctx.fillRect(5, 9, 14, 11);
      globalThis.img = await createImageBitmap(canvas);
    }, { tiny, worker });
    await calls(20); // warm-up: the Go heap and V8's tiers settle
    const h0 = await heap();
    const ms = await calls(200);
    const h1 = await heap();
    await page.evaluate(() => globalThis.m.dispose());
    const grew = (h1.usedSize - h0.usedSize) / MB;
    const buffers = h1.backingStorageSize === undefined ? '' : `; array buffers ${(h0.backingStorageSize / MB).toFixed(2)} → ${(h1.backingStorageSize / MB).toFixed(2)} MB`;
    t.diagnostic(`${mode}: page JS heap ${(h0.usedSize / MB).toFixed(2)} → ${(h1.usedSize / MB).toFixed(2)} MB after 200 × (classify + saliency), ${(ms / 200).toFixed(1)} ms a pair${buffers}`);
    assert.ok(grew < 5, `${mode}: JS heap grew by ${grew.toFixed(2)} MB`);
  }
  clean(log);
  await close();
});

test('the Content-Security-Policy is in force, without cross-origin isolation', { skip: noData, timeout: 240_000 }, async t => {
  const policy = await (await fetch(srv.url)).headers.get('content-security-policy');
  assert.match(policy, /default-src 'none'/);
  assert.match(policy, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  assert.doesNotMatch(policy, /'unsafe-eval'|'unsafe-inline'|blob:|data:/);

  // The whole demo runs under it, in both modes. The demo's own scripts
  // compile the wasm (Playwright's evaluate is exempt from the CSP's eval
  // rules, so the tests above do not prove this).
  for (const query of ['', '?worker=0', '?simd=0']) {
    const { page, log, response, close } = await open(query);
    assert.match(await page.textContent('#status'), query === '?simd=0' ? /scalar code/ : /SIMD128 kernels/);
    assert.equal(response.headers()['content-security-policy'], policy);
    const env = await page.evaluate(() => ({ isolated: globalThis.crossOriginIsolated, sab: typeof SharedArrayBuffer }));
    assert.deepEqual(env, { isolated: false, sab: 'undefined' });
    // The classes and the first map are enough: the demo's eight maps take
    // minutes with the scalar code on a busy machine.
    await page.setInputFiles('#file', cat);
    await page.waitForFunction(() => document.documentElement.dataset.state === 'error' ||
      document.getElementById('map-gradient').width > 1, null, { timeout: 60_000 });
    assert.equal(await page.textContent('#error'), '', `demo${query}`);
    assert.equal(await page.locator('#top li').count(), 5, `demo${query}`);
    clean(log);

    // Positive controls: the policy refuses eval and inline scripts, and
    // the refusals are seen as violations.
    const cdp = await page.context().newCDPSession(page);
    const { result } = await cdp.send('Runtime.evaluate', { expression: 'try { eval("1"), "eval ran" } catch (e) { e.name }', allowUnsafeEvalBlockedByCSP: false });
    assert.equal(result.value, 'EvalError');
    const inline = await page.evaluate(() => new Promise(resolve => {
      const s = document.createElement('script');
      s.textContent = 'window.inlineRan = true';
      document.head.append(s);
      setTimeout(() => resolve(window.inlineRan === true), 100);
    }));
    assert.equal(inline, false, 'an inline script ran');
    await page.waitForTimeout(100);
    assert.ok(log.violations.length > 0, 'the refusals should have been reported as CSP violations');
    await close();
  }

  // Negative control: without 'wasm-unsafe-eval' the same page cannot
  // compile allcnn.wasm, in a worker or in the page, and says so.
  for (const query of ['', '?worker=0']) {
    const context = await browser.newContext();
    await context.route('**/*', async route => {
      const response = await route.fetch();
      const headers = { ...response.headers(), 'content-security-policy': policy.replace(" 'wasm-unsafe-eval'", '') };
      await route.fulfill({ response, headers });
    });
    const page = await context.newPage();
    await page.goto(srv.url + query);
    await page.waitForFunction(() => ['ready', 'error'].includes(document.documentElement.dataset.state), null, { timeout: 60_000 });
    const error = await page.textContent('#error');
    t.diagnostic(`without 'wasm-unsafe-eval'${query}: ${error}`);
    assert.match(error, /^allcnn\.load: cannot instantiate allcnn\.wasm: .*(Content Security Policy|unsafe-eval)/);
    await context.close();
  }
});
