// Starting allcnn.wasm: the part of the package that the page thread
// (allcnn.js with worker: false) and the Web Worker (worker.js) share.
// Internal: users import allcnn.js.
//
// allcnn.wasm is the GOOS=js build of ./wasm/js. It runs under Go's own
// glue, wasm_exec.js (copied from $(go env GOROOT)/lib/wasm by `make web`),
// and installs globalThis.allcnn, whose functions return settled promises
// (see the doc comment of wasm/js/main.go). Its matrix products run on
// simd128.wasm, SIMD128 kernels that work in allcnn.wasm's own memory
// (package wasm/simd), where the engine validates them; elsewhere, or with
// the option simd: false, on Go's scalar code. Neither file uses eval or
// new Function, so a Content-Security-Policy needs only 'wasm-unsafe-eval'.
// Errors thrown here say what failed without a prefix; allcnn.js adds
// "allcnn.load: ".

/** The version of the globalThis.allcnn object this package speaks. */
export const ABI = 1;

/** Where the package's files are, relative to this module. */
export const defaultWasm = new URL('./allcnn.wasm', import.meta.url).href;
export const defaultWasmExec = new URL('./wasm_exec.js', import.meta.url).href;
export const defaultSimd = new URL('./simd128.wasm', import.meta.url).href;

// wasm_exec.js is a classic script that defines globalThis.Go and, where
// they are missing, shims of Node's globals fs, process and path, which
// Go's syscall package reads once, while the program initializes.
// Evaluating it as a module works (it only touches globalThis). To keep
// the page's globals as they were, the class and the process and path shims
// are taken off globalThis and put back only while a Go program starts: a
// global `process` without `env` breaks libraries that test
// `typeof process` to detect Node. The fs shim stays, because the glue
// looks it up by name whenever the Go runtime prints (a fatal error).
let glue; // Promise<{Go, shims}>, one per realm

function loadGlue(url) {
  glue ??= (async () => {
    const had = name => Object.prototype.hasOwnProperty.call(globalThis, name);
    const before = { Go: had('Go') ? globalThis.Go : undefined, process: had('process'), path: had('path') };
    try {
      await import(url);
    } catch (err) {
      glue = undefined; // let a later load try again
      throw new Error(`cannot load Go's wasm_exec.js from ${url}: ${err.message}`);
    }
    const Go = globalThis.Go;
    if (typeof Go !== 'function') {
      glue = undefined;
      throw new Error(`${url} did not define Go: is it Go's wasm_exec.js?`);
    }
    if (before.Go === undefined) delete globalThis.Go;
    else globalThis.Go = before.Go;
    const shims = {};
    for (const name of ['process', 'path']) {
      if (!before[name] && had(name)) {
        shims[name] = globalThis[name];
        delete globalThis[name];
      }
    }
    return { Go, shims };
  })();
  return glue;
}

/**
 * bytesOf returns the bytes of a buffer or a view of one (not copied).
 * @param {ArrayBuffer | ArrayBufferView} b
 */
export function bytesOf(b) {
  return ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b);
}

/** isBuffer says whether b is an ArrayBuffer or a view of one. */
export function isBuffer(b) {
  return b instanceof ArrayBuffer || ArrayBuffer.isView(b);
}

/**
 * fetchOK fetches a URL, failing with a message that names it.
 * @param {string} url
 * @param {string} what
 */
export async function fetchOK(url, what) {
  let res;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`fetching the ${what} ${url}: ${err.message}`);
  }
  if (!res.ok) throw new Error(`fetching the ${what} ${url}: HTTP ${res.status} ${res.statusText}`.trimEnd());
  return res;
}

/**
 * kernels turns the simd option (a URL, the module's bytes, a compiled
 * WebAssembly.Module, or false) into the SIMD128 kernels' bytes or module,
 * or null if they are off or this engine cannot run them (feature
 * detection: the module validates only where SIMD128 is supported).
 */
async function kernels(simd) {
  if (simd === false) return null;
  if (simd instanceof WebAssembly.Module) return simd;
  const bytes = isBuffer(simd) ? bytesOf(simd) : new Uint8Array(await (await fetchOK(String(simd), 'SIMD kernels')).arrayBuffer());
  return WebAssembly.validate(bytes) ? bytes : null;
}

/**
 * instantiate turns the wasm option (a URL, the module's bytes, or a compiled
 * WebAssembly.Module) into an instance importing imports.
 */
async function instantiate(wasm, imports) {
  try {
    if (wasm instanceof WebAssembly.Module) return await WebAssembly.instantiate(wasm, imports);
    if (isBuffer(wasm)) return (await WebAssembly.instantiate(bytesOf(wasm), imports)).instance;
    const res = await fetchOK(String(wasm), 'WebAssembly module');
    // Streaming compilation needs the right MIME type; a server without it
    // still works, through a copy.
    if ((res.headers.get('Content-Type') || '').split(';')[0].trim() === 'application/wasm') {
      return (await WebAssembly.instantiateStreaming(res, imports)).instance;
    }
    return (await WebAssembly.instantiate(await res.arrayBuffer(), imports)).instance;
  } catch (err) {
    if (err.message.startsWith('fetching')) throw err;
    throw new Error(`cannot instantiate allcnn.wasm: ${err.message}`);
  }
}

/**
 * start runs one Go instance of allcnn.wasm and returns its allcnn object,
 * leaving globalThis.allcnn as it was.
 * @param {string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module} wasm
 * @param {string} wasmExec the URL of wasm_exec.js
 * @param {string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module | false} simd
 *   simd128.wasm, or false for Go's scalar matrix products
 */
export async function start(wasm, wasmExec, simd = defaultSimd) {
  const [{ Go, shims }, simdModule] = await Promise.all([loadGlue(wasmExec), kernels(simd)]);
  const go = new Go();
  // The instances need each other: Go imports the kernels, the kernels
  // import Go's memory. So Go gets functions that call kernels bound once
  // both exist, before its runtime starts (go.run); its first question,
  // sgemm_work, says whether there are any (0: none).
  let k = null; // the kernels' exports
  go.importObject.allcnn_simd = {
    sgemm_work: () => (k ? k.sgemm_work() : 0),
    sgemm: (ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc, work) =>
      k.sgemm(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc, work),
  };
  const instance = await instantiate(wasm, go.importObject);
  if (simdModule) {
    try {
      const r = await WebAssembly.instantiate(simdModule, { go: { memory: instance.exports.mem } });
      k = (r.instance ?? r).exports;
    } catch (err) {
      throw new Error(`cannot instantiate the SIMD kernels with allcnn.wasm's memory: ${err.message}`);
    }
  }
  const had = Object.getOwnPropertyDescriptor(globalThis, 'allcnn');
  Object.assign(globalThis, shims);
  let api;
  try {
    // run executes main synchronously up to its final select {}; the promise
    // it returns settles only if the program exits, which it does not.
    go.run(instance).catch(() => {});
    api = globalThis.allcnn;
  } finally {
    for (const name of Object.keys(shims)) delete globalThis[name];
    if (had) Object.defineProperty(globalThis, 'allcnn', had);
    else delete globalThis.allcnn;
  }
  if (!api || api.abiVersion !== ABI) {
    throw new Error(`allcnn.wasm did not install version ${ABI} of its API (got ${api ? 'version ' + api.abiVersion : 'nothing'}): is it the GOOS=js build of ./wasm/js that matches this allcnn.js?`);
  }
  return api;
}

/**
 * open loads a weight file, given as a URL or as its bytes, into a started
 * instance and returns the model's handle.
 */
export async function open(api, model) {
  const bytes = isBuffer(model) ? bytesOf(model) : await (await fetchOK(String(model), 'weight file')).arrayBuffer();
  return api.load(bytes);
}
