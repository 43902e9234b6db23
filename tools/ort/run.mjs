// Runs ONNX models in ONNX Runtime's native CPU build for the onnx package's
// tests. Reads a JSON array of jobs from stdin, {model, input, shape}: the
// model file, a file of little-endian float32 values for its one input, and
// the input's shape. Writes a JSON array with each job's first output,
// {shape, data}, to stdout. One thread, so as not to crowd the machine.
//   node tools/ort/run.mjs < jobs.json
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const jobs = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const job of jobs) {
  const s = await ort.InferenceSession.create(job.model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const raw = readFileSync(job.input);
  const x = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, job.shape) });
  const y = out[s.outputNames[0]];
  results.push({ shape: y.dims.map(Number), data: Array.from(y.data) });
  await s.release();
}
process.stdout.write(JSON.stringify(results));
