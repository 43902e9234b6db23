// The demo page. It runs from dist/web (make web; allcnn serve), where it
// sits beside allcnn.js, allcnn.wasm and the weight file model.msgpack.
// <html data-state> says what it is doing (loading, ready, busy, done,
// error), for people reading the DOM and for the browser tests.
// ?worker=0 runs the model in the page's thread instead of a Web Worker;
// ?simd=0 runs Go's scalar matrix products instead of the SIMD128 kernels.

import { AllCNN } from './allcnn.js';

const $ = id => document.getElementById(id);
const methods = [
  ['gradient', 'Gradient'],
  ['deconvnet', 'Deconvnet'],
  ['guided', 'Guided backpropagation'],
];
// The paper's look, as `allcnn viz` draws it: the colour channels, zero as
// grey, outliers clipped at the 99.5th percentile.
const look = { colormap: 'rgb', clip: 99.5 };

let model, info;
let image = null; // ImageBitmap of the chosen image
let runs = 0; // a newer run makes older ones drop their results

const state = s => { document.documentElement.dataset.state = s; };

function showError(err) {
  $('error').textContent = err instanceof Error ? err.message : String(err);
  state('error');
}

async function main() {
  state('loading');
  try {
    const params = new URLSearchParams(location.search);
    const worker = params.get('worker') !== '0';
    model = await AllCNN.load({ model: 'model.msgpack', worker, ...(params.get('simd') === '0' && { simd: false }) });
    info = await model.info();
  } catch (err) {
    $('status').textContent = 'The model could not be loaded.';
    showError(err);
    return;
  }
  const [c, h, w] = info.input;
  $('status').textContent = `Model: ${info.name}, ${w}×${h} ${c === 1 ? 'grey' : 'colour'} input, ${info.classes.length} classes; ${model.simd ? 'SIMD128 kernels' : 'scalar code (no SIMD128)'}.`;
  $('untrained').hidden = info.meta.trained !== 'no';
  // The switches choice only where it changes the net (a reload may have
  // kept the box ticked).
  $('switches-choice').hidden = !switchable(info);
  if (!switchable(info)) $('switches').checked = false;
  fillLayers();
  showSpread();
  $('file').disabled = false;
  $('target').disabled = false;
  $('file').addEventListener('change', () => choose($('file').files[0]));
  $('layer').addEventListener('change', () => { fillUnits(); explain(); });
  $('unit').addEventListener('change', explain);
  $('switches').addEventListener('change', () => { fillLayers(); showSpread(); explain(); });
  $('spread').addEventListener('change', explain);
  const drop = $('drop');
  drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', e => {
    e.preventDefault();
    drop.classList.remove('over');
    choose(e.dataTransfer.files[0]);
  });
  state('ready');
}

/**
 * switchable says whether the switched net of Figs. 4–5 differs from the
 * net: it has pools (NAME.pool after each stride-2 convolution) the net
 * lacks. A net without stride-2 convolutions (Model C) is its own switched
 * net, and its max-pools always use their switches.
 */
function switchable(info) {
  return (info.switchedLayers ?? []).some(s => !info.layers.some(l => l.name === s.name));
}

/**
 * showSpread offers "without switches" where the net explained has
 * max-pools (Model C, or any switched net).
 */
function showSpread() {
  const layers = $('switches').checked ? info.switchedLayers : info.layers;
  const pools = layers.some(l => l.type === 'maxpool');
  $('spread-choice').hidden = !pools;
  if (!pools) $('spread').checked = false;
}

/** fillLayers lists the saliency targets of the plain or the switched net. */
function fillLayers() {
  const sel = $('layer');
  const keep = sel.value;
  const layers = $('switches').checked ? info.switchedLayers : info.layers;
  sel.replaceChildren(new Option('Classes (the output)', ''));
  for (const l of layers) sel.add(new Option(`${l.name} (${l.channels} × ${l.height}×${l.width})`, l.name));
  sel.value = layers.some(l => l.name === keep) ? keep : '';
  fillUnits();
}

/** fillUnits lists the classes, or the channels of the chosen layer. */
function fillUnits() {
  const sel = $('unit');
  const name = $('layer').value;
  if (name === '') {
    sel.replaceChildren(new Option('the top class', '-1'), ...info.classes.map((c, i) => new Option(c, String(i))));
    return;
  }
  const layer = ($('switches').checked ? info.switchedLayers : info.layers).find(l => l.name === name);
  sel.replaceChildren(new Option('the strongest channel', '-1'));
  for (let i = 0; i < layer.channels; i++) sel.add(new Option(`channel ${i}`, String(i)));
}

async function choose(file) {
  if (!file) return;
  $('error').textContent = '';
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    showError(new Error(`${file.name} could not be read as an image (${file.type || 'unknown type'}).`));
    return;
  }
  image?.close();
  image = bitmap;
  const p = $('preview');
  p.width = image.width;
  p.height = image.height;
  p.getContext('2d').drawImage(image, 0, 0);
  p.classList.toggle('smooth', image.width > 128);
  p.setAttribute('aria-label', `The chosen image, ${file.name}, ${image.width}×${image.height} pixels`);
  await classify();
}

async function classify() {
  const run = ++runs;
  state('busy');
  try {
    const t0 = performance.now();
    const { top } = await model.classify(image);
    if (run !== runs) return;
    showTop(top);
    $('timing').textContent = `Classified in ${Math.round(performance.now() - t0)} ms.`;
    await drawMaps(run);
  } catch (err) {
    if (run === runs) showError(err);
  }
}

async function explain() {
  if (!image) return;
  const run = ++runs;
  state('busy');
  try {
    await drawMaps(run);
  } catch (err) {
    if (run === runs) showError(err);
  }
}

function showTop(top) {
  $('top').replaceChildren(...top.map(({ name, prob }) => {
    const li = document.createElement('li');
    const row = li.appendChild(document.createElement('span'));
    row.className = 'row';
    row.append(text('span', name, 'name'));
    const bar = row.appendChild(text('span', '', 'bar'));
    bar.setAttribute('aria-hidden', 'true');
    bar.appendChild(document.createElement('span')).style.width = `${(100 * prob).toFixed(1)}%`;
    row.append(text('span', `${(100 * prob).toFixed(1)}%`, 'pct'));
    return li;
  }));
}

function text(tag, s, className) {
  const e = document.createElement(tag);
  e.textContent = s;
  e.className = className;
  return e;
}

async function drawMaps(run) {
  const layer = $('layer').value;
  const target = { layer, unit: Number($('unit').value), switches: $('switches').checked, pool: $('spread').checked ? 'spread' : 'switches' };
  const t0 = performance.now();
  let what = '';
  for (const [method, label] of methods) {
    const s = await model.saliency(image, { ...target, ...look, method });
    if (run !== runs) return;
    what = layer === '' ? `class ${info.classes[s.unit]}` : `${layer} channel ${s.unit} at (${s.at[0]}, ${s.at[1]})`;
    const c = $(`map-${method}`);
    c.width = s.width;
    c.height = s.height;
    c.getContext('2d').putImageData(s.imageData, 0, 0);
    c.setAttribute('aria-label', `${label} map of ${what}`);
  }
  $('explained').textContent = `Explaining ${what}${target.switches ? ', with switches' : ''}${target.pool === 'spread' ? ', max-pools without switches' : ''}; three maps in ${Math.round(performance.now() - t0)} ms.`;
  state('done');
}

main();
