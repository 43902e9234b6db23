// allcnn: the All Convolutional Net (Springenberg et al., ICLR 2015) in the
// browser. Classifies images and draws saliency maps (gradient, deconvnet,
// guided backpropagation; the paper's §3.4) with the project's pure-Go
// kernel compiled to WebAssembly.
//
//	import { AllCNN } from './allcnn.js';
//	const m = await AllCNN.load({ model: 'model.msgpack' });
//	const { top } = await m.classify(img);            // [{index, name, prob}, …]
//	const s = await m.saliency(img, { method: 'guided' });
//	canvas.getContext('2d').putImageData(s.imageData, 0, 0);
//	m.dispose();
//
// Plain ES modules: no bundler, no build step. The work runs in a module
// Web Worker (worker.js) unless load is given worker: false. Pixels go to
// the worker and maps come back as transferred buffers, so nothing needs
// SharedArrayBuffer or cross-origin isolation, and nothing uses eval: a
// Content-Security-Policy of script-src 'self' 'wasm-unsafe-eval' with
// worker-src 'self' and connect-src 'self' is enough.
//
// Every method returns a promise; a bad weight file, an image that cannot
// be read, a bad option or a call after dispose() rejects it with an Error
// whose message starts with the method ("allcnn.classify: …").

import { start, open, defaultWasm, defaultWasmExec, defaultSimd, isBuffer, bytesOf } from './instance.js';

const workerURL = new URL('./worker.js', import.meta.url);
const loadOptions = new Set(['wasm', 'wasmExec', 'simd', 'model', 'worker', 'workers']);

/** A weight file loaded into allcnn.wasm, in a worker or in this thread. */
export class AllCNN {
  #backend; // WorkerBackend | PageBackend; null once disposed
  #info;
  #simd;

  /** @private Use AllCNN.load. */
  constructor(backend, token) {
    if (token !== constructing) throw new TypeError('allcnn: use AllCNN.load(options), not new AllCNN');
    this.#backend = backend;
    this.#info = backend.info;
    this.#simd = backend.simd;
    for (const w of this.#info.warnings ?? []) console.warn(`allcnn: ${w}`);
  }

  /**
   * load starts allcnn.wasm and loads a weight file into it.
   *
   * options.model     the weight file: a URL, or its bytes (ArrayBuffer or a
   *                   view; copied). Required.
   * options.wasm      allcnn.wasm: a URL, its bytes, or a compiled
   *                   WebAssembly.Module; default: beside this module.
   * options.wasmExec  the URL of Go's wasm_exec.js; default: beside this module.
   * options.simd      simd128.wasm, the SIMD128 kernels of the matrix products:
   *                   a URL, its bytes, or a compiled WebAssembly.Module;
   *                   true or absent: beside this module; false: Go's scalar code.
   *                   Where the engine lacks SIMD128, the scalar code runs.
   * options.worker    true (default): run in a Web Worker of its own;
   *                   false: in the calling thread, which blocks while it computes.
   * options.workers   how many Web Workers (default 1), each with its own copy
   *                   of the model: the maps that average many copies of the
   *                   image (smoothgrad, smoothgrad2, vargrad, integrated) share
   *                   the copies among them, giving the map one worker gives
   *                   (to float rounding: a copy's last bits depend on the
   *                   batch it runs in); other calls go to the least busy worker.
   *                   navigator.hardwareConcurrency is a good value for a page
   *                   that wants these maps fast; each worker costs the memory
   *                   and the start of one more instance.
   */
  static async load(options = {}) {
    for (const key of Object.keys(options)) {
      if (!loadOptions.has(key)) throw new Error(`allcnn.load: unknown option ${key} (known: ${[...loadOptions].join(', ')})`);
    }
    const { model, worker = true, workers = 1 } = options;
    if (model === undefined || model === null) throw new Error('allcnn.load: options.model is required: the URL or the bytes of a weight file');
    if (!(Number.isInteger(workers) && workers >= 1 && workers <= 64)) throw new Error(`allcnn.load: option workers=${workers}: want an integer from 1 to 64`);
    if (!worker && workers > 1) throw new Error(`allcnn.load: option workers=${workers} needs worker: true`);
    const wasm = isBuffer(options.wasm) || options.wasm instanceof WebAssembly.Module ? options.wasm : resolve(options.wasm ?? defaultWasm);
    const wasmExec = resolve(options.wasmExec ?? defaultWasmExec);
    const simd = options.simd === false || isBuffer(options.simd) || options.simd instanceof WebAssembly.Module
      ? options.simd
      : resolve(options.simd === undefined || options.simd === true ? defaultSimd : options.simd);
    const backend = worker
      ? await WorkerPool.start(workers, wasm, wasmExec, simd, isBuffer(model) ? model : resolve(model))
      : await PageBackend.start(wasm, wasmExec, simd, isBuffer(model) ? model : resolve(model));
    return new AllCNN(backend, constructing);
  }

  /**
   * simd is true when the matrix products run on the SIMD128 kernels, false
   * when on Go's scalar code (options.simd false, or no SIMD128 here).
   */
  get simd() {
    return this.#simd;
  }

  /**
   * info describes the model (a copy): name, input [c, h, w], classes,
   * place and source (how an image becomes the input), warnings,
   * preprocess, layers and switchedLayers (the saliency targets), meta.
   */
  async info() {
    this.#live('info');
    return structuredClone(this.#info);
  }

  /**
   * classify returns the class probabilities of an image: probs, one per
   * class, and top, the options.top (default 5; Infinity for all) most
   * probable classes, most probable first, as {index, name, prob}.
   */
  async classify(img, { top = 5 } = {}) {
    if (!(top >= 0)) throw new Error(`allcnn.classify: option top=${top}: want a number ≥ 0`);
    this.#live('classify');
    const { rgba, width, height } = await pixels(img, 'classify');
    const probs = await this.#live('classify').call('classify', [rgba, width, height], [rgba.buffer]);
    return { top: ranked(probs, this.#info.classes, top), probs };
  }

  /**
   * saliency explains one unit of the network for an image: options as
   * allcnn.SaliencyRequest.Set (the Go package) reads them (method, rule,
   * samples, noise, seed, steps, baseline, camlayer, window, stride, layer,
   * unit, at, switches, pool, reduce, sign, clip, colormap, overlay). It returns the map
   * drawn at the input size (rgba, width, height, and imageData where
   * ImageData exists), the map itself (raw, c·h·w values), and the unit and
   * position it explains.
   */
  async saliency(img, options = {}) {
    const opts = optionStrings(options);
    this.#live('saliency');
    const { rgba, width, height } = await pixels(img, 'saliency');
    const backend = this.#live('saliency');
    const shares = backend instanceof WorkerPool ? copyRanges(opts, backend.size) : null;
    const s = shares
      ? await shared(backend, shares, rgba, width, height, opts)
      : await backend.call('saliency', [rgba, width, height, opts], [rgba.buffer]);
    if (typeof ImageData !== 'undefined') s.imageData = new ImageData(s.rgba, s.width, s.height);
    return s;
  }

  /**
   * dispose frees the model: the worker is terminated (its calls in flight
   * reject), or in this thread the model is unloaded. Later calls reject.
   */
  dispose() {
    this.#backend?.dispose();
    this.#backend = null;
  }

  #live(op) {
    if (!this.#backend) throw new Error(`allcnn.${op}: the model was disposed`);
    return this.#backend;
  }
}

const constructing = Symbol('constructing');

/**
 * WorkerPool runs one model in workers (WorkerBackend) of their own: a call
 * goes to the least busy, and shared splits a map among them.
 */
class WorkerPool {
  #workers;
  info;
  simd;

  static async start(n, wasm, wasmExec, simd, model) {
    const started = await Promise.allSettled(Array.from({ length: n }, () => WorkerBackend.start(wasm, wasmExec, simd, model)));
    const failed = started.find(r => r.status === 'rejected');
    if (failed) {
      for (const r of started) if (r.status === 'fulfilled') r.value.dispose();
      throw failed.reason;
    }
    return new WorkerPool(started.map(r => r.value));
  }

  constructor(workers) {
    this.#workers = workers;
    ({ info: this.info, simd: this.simd } = workers[0]);
  }

  get size() {
    return this.#workers.length;
  }

  /** at is worker i. */
  at(i) {
    return this.#workers[i];
  }

  call(op, args, transfer = []) {
    const idle = this.#workers.reduce((a, b) => (b.pending < a.pending ? b : a));
    return idle.call(op, args, transfer);
  }

  dispose() {
    for (const w of this.#workers) w.dispose();
  }
}

// The methods whose map averages the maps of many copies of the image, the
// option that counts the copies, and its default (kernel.Noise's and
// kernel.Integration's).
const averaging = { smoothgrad: ['samples', 16], smoothgrad2: ['samples', 16], vargrad: ['samples', 16], integrated: ['steps', 32] };

/**
 * copyRanges splits the copies of the map that opts (optionStrings') asks
 * for into consecutive ranges [first, count], one per worker of n, or
 * returns null for a map that is not shared: another method, one copy, or
 * a count the Go side will reject (which saliency then reports).
 */
function copyRanges(opts, n) {
  const [key, fallback] = averaging[opts.method] ?? [];
  if (!key || n < 2) return null;
  const copies = opts[key] === undefined ? fallback : /^[0-9]{1,4}$/.test(opts[key]) ? Number(opts[key]) : 0;
  if (copies < 2 || copies > 4096) return null;
  const k = Math.min(n, copies);
  const start = j => Math.floor((j * copies) / k);
  return Array.from({ length: k }, (_, j) => [start(j), start(j + 1) - start(j)]);
}

/**
 * shared computes a saliency map in shares: worker j the maps of the copies
 * of ranges[j] (allcnn.parts), worker 0 the map of them all, concatenated
 * in order (allcnn.combine): the map that one worker's saliency gives, to
 * float rounding.
 */
async function shared(pool, ranges, rgba, width, height, opts) {
  const saliencyError = err => new Error(err.message.replace(/^allcnn\.(parts|combine): /, 'allcnn.saliency: '));
  const parts = await Promise.all(ranges.map(([first, count], j) => {
    const px = rgba.slice();
    return pool.at(j).call('parts', [px, width, height, opts, first, count], [px.buffer]);
  })).catch(err => {
    throw saliencyError(err);
  });
  const maps = new Float32Array(parts.reduce((n, p) => n + p.maps.length, 0));
  let offset = 0;
  for (const p of parts) {
    maps.set(p.maps, offset);
    offset += p.maps.length;
  }
  // The unit and place the parts explain, resolved: combine need not
  // resolve them again.
  const resolved = { ...opts, unit: String(parts[0].unit), at: parts[0].at.join(',') };
  return pool.at(0).call('combine', [rgba, width, height, resolved, maps], [rgba.buffer, maps.buffer]).catch(err => {
    throw saliencyError(err);
  });
}

/** WorkerBackend runs one Go instance with one model in a Web Worker. */
class WorkerBackend {
  #worker;
  #pending = new Map(); // id → {resolve, reject, op}
  #next = 0;
  #failure = null;
  info;
  simd;

  static async start(wasm, wasmExec, simd, model) {
    if (typeof Worker === 'undefined') throw new Error('allcnn.load: there are no Web Workers here: pass worker: false');
    let w;
    try {
      w = new Worker(workerURL, { type: 'module' });
    } catch (err) {
      throw new Error(`allcnn.load: cannot start the worker ${workerURL}: ${err.message}`);
    }
    const b = new WorkerBackend(w);
    // The worker gets copies of the caller's buffers, never the buffers.
    const copy = x => (isBuffer(x) ? bytesOf(x).slice() : x);
    const init = { wasm: copy(wasm), wasmExec, simd: copy(simd), model: copy(model) };
    const transfer = [init.wasm, init.simd, init.model].filter(isBuffer).map(x => x.buffer);
    try {
      ({ info: b.info, simd: b.simd } = await b.call('init', [init], transfer));
    } catch (err) {
      b.dispose();
      throw loadError(err);
    }
    return b;
  }

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      const p = this.#pending.get(data.id);
      if (!p) return;
      this.#pending.delete(data.id);
      if (data.ok) p.resolve(data.value);
      else p.reject(new Error(data.error));
    };
    worker.onerror = e => {
      e.preventDefault?.();
      this.#fail(`the worker ${workerURL} stopped${e.message ? ': ' + e.message : ''} (is it served as text/javascript, and does the Content-Security-Policy allow worker-src 'self'? worker: false avoids workers)`);
    };
    worker.onmessageerror = () => this.#fail('a message from the worker could not be read');
  }

  /** pending is the number of calls in flight. */
  get pending() {
    return this.#pending.size;
  }

  call(op, args, transfer = []) {
    if (this.#failure) return Promise.reject(new Error(`allcnn.${op}: ${this.#failure}`));
    return new Promise((resolve, reject) => {
      const id = ++this.#next;
      this.#pending.set(id, { resolve, reject, op });
      try {
        this.#worker.postMessage({ id, op, args }, transfer);
      } catch (err) {
        this.#pending.delete(id);
        reject(new Error(`allcnn.${op}: cannot send the arguments to the worker: ${err.message}`));
      }
    });
  }

  dispose() {
    this.#worker.terminate();
    this.#fail('the model was disposed');
  }

  #fail(why) {
    this.#failure ??= why;
    for (const { reject, op } of this.#pending.values()) reject(new Error(`allcnn.${op === 'init' ? 'load' : op}: ${why}`));
    this.#pending.clear();
  }
}

// One Go instance per allcnn.wasm (and choice of kernels) serves every
// model loaded with worker: false (a Go program, once started, never ends:
// one per model would keep each alive).
const pageInstances = new Map(); // wasm → simd → Promise of the allcnn object; wasm, simd: a resolved URL, a WebAssembly.Module or false

/** PageBackend runs a model in the calling thread. */
class PageBackend {
  #api;
  #handle;
  info;
  simd;

  static async start(wasm, wasmExec, simd, model) {
    let api;
    if (isBuffer(wasm) || isBuffer(simd)) {
      api = start(wasm, wasmExec, simd);
    } else {
      if (!pageInstances.has(wasm)) pageInstances.set(wasm, new Map());
      const bySimd = pageInstances.get(wasm);
      api = bySimd.get(simd);
      if (!api) {
        api = start(wasm, wasmExec, simd);
        bySimd.set(simd, api);
        api.catch(() => bySimd.delete(simd)); // let a later load retry
      }
    }
    try {
      const b = new PageBackend(await api);
      b.#handle = await open(b.#api, model);
      b.info = await b.#api.info(b.#handle);
      b.simd = b.#api.simd === true;
      return b;
    } catch (err) {
      throw loadError(err);
    }
  }

  constructor(api) {
    this.#api = api;
  }

  call(op, args) {
    try {
      return this.#api[op](this.#handle, ...args);
    } catch (err) {
      // Go's functions return promises; they throw only if the instance died.
      return Promise.reject(new Error(`allcnn.${op}: ${err.message}`));
    }
  }

  dispose() {
    try {
      this.#api.unload(this.#handle).catch(() => {});
    } catch {
      // a dead instance holds nothing more
    }
  }
}

/** loadError prefixes an error of load with "allcnn.load: " if it has no prefix. */
function loadError(err) {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.startsWith('allcnn.') ? err : new Error(`allcnn.load: ${msg}`);
}

/** resolve makes a URL absolute against the document (or worker) location. */
function resolve(url) {
  const base = globalThis.document?.baseURI ?? globalThis.location?.href;
  try {
    return new URL(url, base).href;
  } catch {
    return String(url);
  }
}

/**
 * optionStrings converts saliency options to the strings the Go side
 * parses, exactly as it would convert them itself (String(value)), so that
 * options travel to a worker as plain data and mean the same in both modes.
 */
function optionStrings(options) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) throw new Error('allcnn.saliency: options: want an object');
  const out = {};
  for (const [k, v] of Object.entries(options)) {
    if (v !== undefined && v !== null) out[k] = String(v);
  }
  return out;
}

/** ranked returns the k most probable classes, most probable first. */
function ranked(probs, names, k) {
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
  return order.slice(0, Math.min(k, order.length)).map(i => ({ index: i, name: names[i] ?? String(i), prob: probs[i] }));
}

const has = name => typeof globalThis[name] === 'function';

/** size returns the pixel size of a CanvasImageSource, or null. */
function size(s) {
  if (has('HTMLImageElement') && s instanceof HTMLImageElement) return [s.naturalWidth, s.naturalHeight];
  if (has('HTMLVideoElement') && s instanceof HTMLVideoElement) return [s.videoWidth, s.videoHeight];
  if (has('VideoFrame') && s instanceof VideoFrame) return [s.displayWidth, s.displayHeight];
  for (const c of ['HTMLCanvasElement', 'OffscreenCanvas', 'ImageBitmap']) {
    if (has(c) && s instanceof globalThis[c]) return [s.width, s.height];
  }
  return null;
}

/**
 * pixels reads an image as RGBA bytes in a buffer of their own (so that it
 * can be transferred): ImageData and {data, width, height} are copied,
 * anything else is drawn at its natural size on an OffscreenCanvas.
 */
async function pixels(img, op) {
  const fail = msg => new Error(`allcnn.${op}: ${msg}`);
  const data = img?.data;
  if ((has('ImageData') && img instanceof ImageData) || data instanceof Uint8ClampedArray || data instanceof Uint8Array) {
    const { width: w, height: h } = img;
    if (!(Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0)) throw fail(`image size ${w}×${h}: want positive integers`);
    if (data.length !== 4 * w * h) throw fail(`image data holds ${data.length} bytes; ${w}×${h} RGBA pixels are ${4 * w * h}`);
    return { rgba: new Uint8ClampedArray(data), width: w, height: h };
  }
  let source = img;
  let bitmap = null;
  if (has('Blob') && img instanceof Blob) {
    try {
      source = bitmap = await createImageBitmap(img);
    } catch (err) {
      throw fail(`cannot decode the image (${img.type || 'of unknown type'}): ${err.message}`);
    }
  }
  try {
    const wh = size(source);
    if (!wh) {
      const kind = img === null || typeof img !== 'object' ? String(img) : Object.prototype.toString.call(img).slice(8, -1);
      throw fail(`unsupported image (${kind}): want an HTMLImageElement, HTMLCanvasElement, OffscreenCanvas, ImageBitmap, ImageData, Blob, HTMLVideoElement or VideoFrame`);
    }
    const [w, h] = wh;
    if (!(w > 0 && h > 0)) {
      throw fail(has('HTMLImageElement') && img instanceof HTMLImageElement
        ? 'the image has not loaded, or failed to load: wait for img.decode()'
        : `the image is empty (${w}×${h})`);
    }
    if (!has('OffscreenCanvas')) throw fail('reading an image needs OffscreenCanvas; pass an ImageData instead');
    const ctx = new OffscreenCanvas(w, h).getContext('2d', { willReadFrequently: true });
    try {
      ctx.drawImage(source, 0, 0, w, h);
      return { rgba: ctx.getImageData(0, 0, w, h).data, width: w, height: h };
    } catch (err) {
      if (err.name === 'SecurityError') {
        throw fail('the image is from another origin that does not allow reading it: set img.crossOrigin = "anonymous" and serve it with Access-Control-Allow-Origin');
      }
      throw fail(`cannot read the image's pixels: ${err.message}`);
    }
  } finally {
    bitmap?.close();
  }
}
