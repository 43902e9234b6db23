// The module Web Worker in which allcnn.js runs allcnn.wasm by default, so
// that the page stays responsive while the network computes. Internal:
// users import allcnn.js, which starts this file with
// new Worker(url, {type: 'module'}).
//
// One worker holds one Go instance and one model. Messages in:
//   {id, op: 'init', args: [{wasm, wasmExec, simd, model}]}
//                    → {info: the model's Info, simd: whether the SIMD128 kernels run}
//   {id, op, args}   op: info | input | logits | classify | saliency | saliencyOf |
//                    parts | combine,
//                    args: those of globalThis.allcnn[op] after the handle
// Messages out: {id, ok: true, value} or {id, ok: false, error: message}.
// Typed arrays in results travel as transferred buffers (not copied): Go
// made them fresh for this call.

import { start, open } from './instance.js';

const ops = new Set(['info', 'input', 'logits', 'classify', 'saliency', 'saliencyOf', 'parts', 'combine']);
let api, handle;

async function call(op, args) {
  if (op === 'init') {
    const { wasm, wasmExec, simd, model } = args[0];
    api = await start(wasm, wasmExec, simd);
    handle = await open(api, model);
    return { info: await api.info(handle), simd: api.simd === true };
  }
  if (!ops.has(op)) throw new Error(`allcnn worker: unknown operation ${op}`);
  if (!api) throw new Error('allcnn worker: not initialized');
  return api[op](handle, ...args);
}

// buffers lists the buffers of the typed arrays in a result.
function buffers(value) {
  if (ArrayBuffer.isView(value)) return [value.buffer];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.values(value).filter(v => ArrayBuffer.isView(v)).map(v => v.buffer);
}

self.onmessage = async ({ data: { id, op, args } }) => {
  try {
    const value = await call(op, args);
    self.postMessage({ id, ok: true, value }, buffers(value));
  } catch (err) {
    self.postMessage({ id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};
