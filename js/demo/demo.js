// The demo page. It runs from dist/web (make web; allcnn serve), where it
// sits beside allcnn.js, allcnn.wasm and the weight file model.msgpack.
// <html data-state> says what it is doing (loading, ready, busy, done,
// error), for people reading the DOM and for the browser tests.
// ?worker=0 runs the model in the page's thread instead of a Web Worker;
// ?simd=0 runs Go's scalar matrix products instead of the SIMD128 kernels.

import { AllCNN } from './allcnn.js';
import { methods, camLayer } from './methods.js';

const $ = id => document.getElementById(id);
// The sample images: train/CLASS/4999.jpg of ../shared/data/
// cifar10-train-jpg.tar.gz, the last image of each class, so in the
// held-out split (the last 500 of each class) the bundled model was not
// trained on.
const samples = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

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
    // SmoothGrad and integrated gradients share their copies among the
    // workers: one per core, up to 4 (each holds a copy of the model);
    // ?workers=N chooses.
    const workers = worker ? Number(params.get('workers') ?? Math.min(navigator.hardwareConcurrency || 1, 4)) : 1;
    model = await AllCNN.load({ model: 'model.msgpack', worker, workers, ...(params.get('simd') === '0' && { simd: false }) });
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
  showSamples();
  showFigures();
  $('file').disabled = false;
  $('target').disabled = false;
  $('overlay').disabled = false;
  $('overlay-value').value = percent($('overlay').value); // as a reload may have kept it
  $('file').addEventListener('change', () => {
    const f = $('file').files[0];
    if (f) choose(f, f.name, null);
  });
  $('layer').addEventListener('change', () => { fillUnits(); clearPlace(); explain(); });
  $('unit').addEventListener('change', explain);
  for (const id of ['at-y', 'at-x']) {
    $(id).addEventListener('change', () => {
      // A place needs both coordinates: the other starts at 0.
      for (const other of ['at-y', 'at-x']) if ($(other).value === '') $(other).value = '0';
      explain();
    });
  }
  $('at-auto').addEventListener('click', () => { clearPlace(); explain(); });
  $('switches').addEventListener('change', () => { fillLayers(); clearPlace(); showSpread(); explain(); });
  $('spread').addEventListener('change', explain);
  // Every step of the slider recomputes the maps with the new overlay; a
  // newer step drops the older one's results as they arrive.
  $('overlay').addEventListener('input', () => { $('overlay-value').value = percent($('overlay').value); explain(); });
  const drop = $('drop');
  drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', e => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer.files[0];
    if (f) choose(f, f.name, null);
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

/**
 * fillUnits lists the classes, or the channels of the chosen layer, and
 * offers the choice of a place where the layer's map has more than one.
 */
function fillUnits() {
  const sel = $('unit');
  const layer = chosenLayer();
  const pickable = layer !== null && layer.height * layer.width > 1;
  for (const id of ['at-y', 'at-x', 'at-auto']) $(id).disabled = !pickable;
  $('maps').classList.toggle('pickable', pickable);
  if (layer === null) {
    sel.replaceChildren(new Option('the top class', '-1'), ...info.classes.map((c, i) => new Option(c, String(i))));
    return;
  }
  $('at-y').max = String(layer.height - 1);
  $('at-x').max = String(layer.width - 1);
  sel.replaceChildren(new Option('the strongest channel', '-1'));
  for (let i = 0; i < layer.channels; i++) sel.add(new Option(`channel ${i}`, String(i)));
}

/** chosenLayer is the LayerInfo of the chosen layer; null for the classes. */
function chosenLayer() {
  const name = $('layer').value;
  if (name === '') return null;
  return ($('switches').checked ? info.switchedLayers : info.layers).find(l => l.name === name);
}

/** showSamples makes a button of each sample image. */
function showSamples() {
  $('samples').append(...samples.map(name => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'sample';
    b.title = `Explain the ${name}`;
    b.setAttribute('aria-pressed', 'false');
    const img = b.appendChild(new Image(32, 32));
    img.src = `samples/${name}.jpg`;
    img.alt = name;
    b.addEventListener('click', async () => {
      try {
        await img.decode();
      } catch {
        showError(new Error(`The sample image samples/${name}.jpg could not be loaded.`));
        return;
      }
      await choose(img, `the ${name} sample`, b);
    });
    return b;
  }));
}

/**
 * showFigures makes a figure of each method: its map, a marker of the
 * unit's place, and a caption with the time it took; and the list of what
 * each computes.
 */
function showFigures() {
  const group = (title, ms) => {
    const div = document.createElement('div');
    div.className = 'group';
    div.setAttribute('role', 'group');
    div.setAttribute('aria-label', title);
    div.append(text('h3', title), ...ms.map(figure));
    return div;
  };
  $('maps').replaceChildren(
    group('The paper’s three rules', methods.filter(m => m.paper)),
    group('Beyond the paper', methods.filter(m => !m.paper)));
  $('about-methods').replaceChildren(...methods.flatMap(m => [text('dt', m.label), text('dd', m.about)]));
}

function figure(m) {
  const fig = document.createElement('figure');
  fig.id = `fig-${m.id}`;
  const frame = fig.appendChild(document.createElement('div'));
  frame.className = 'frame';
  const c = frame.appendChild(document.createElement('canvas'));
  c.id = `map-${m.id}`;
  c.className = 'view';
  c.width = c.height = 1;
  c.setAttribute('role', 'img');
  c.setAttribute('aria-label', `${m.label} map: none yet`);
  c.addEventListener('click', e => pick(e, c));
  const marker = frame.appendChild(document.createElement('div'));
  marker.className = 'marker';
  marker.hidden = true;
  const cap = fig.appendChild(document.createElement('figcaption'));
  cap.append(text('span', m.label), text('span', '', 'ms'));
  return fig;
}

/**
 * content is where a map canvas draws its image in its box (object-fit:
 * contain), in CSS pixels: the offset (x, y) and the scale k from the
 * input's pixels.
 */
function content(canvas) {
  const [, h, w] = info.input;
  const r = canvas.getBoundingClientRect();
  const k = Math.min(r.width / w, r.height / h);
  return { x: (r.width - k * w) / 2, y: (r.height - k * h) / 2, k, r };
}

/**
 * pick explains the unit at the clicked place of the chosen layer: the
 * click's pixel of the input, scaled to the layer's map.
 */
function pick(e, canvas) {
  const layer = chosenLayer();
  if (!image || layer === null || layer.height * layer.width === 1) return;
  const [, h, w] = info.input;
  const { x, y, k, r } = content(canvas);
  const px = (e.clientX - r.left - x) / k;
  const py = (e.clientY - r.top - y) / k;
  if (px < 0 || py < 0 || px >= w || py >= h) return;
  $('at-y').value = String(Math.min(layer.height - 1, Math.floor(py * layer.height / h)));
  $('at-x').value = String(Math.min(layer.width - 1, Math.floor(px * layer.width / w)));
  explain();
}

/** place is the chosen [y, x] in the layer's map, clamped; undefined for "where it is strongest". */
function place() {
  const layer = chosenLayer();
  if (layer === null || $('at-y').value === '' || $('at-x').value === '') return undefined;
  const clamp = (id, n) => {
    const v = Math.min(n - 1, Math.max(0, Math.floor(Number($(id).value)) || 0));
    $(id).value = String(v);
    return v;
  };
  return [clamp('at-y', layer.height), clamp('at-x', layer.width)];
}

function clearPlace() {
  $('at-y').value = '';
  $('at-x').value = '';
}

/**
 * mark outlines, over each map, the input pixels that the unit's place in
 * its layer's map stands for (not its receptive field, which is larger).
 */
function mark(figure, layer, at) {
  const marker = figure.querySelector('.marker');
  marker.hidden = layer === null || layer.height * layer.width === 1;
  if (marker.hidden) return;
  const [, h, w] = info.input;
  const { x, y, k, r } = content(figure.querySelector('canvas'));
  if (!r.width || !r.height) { // not laid out
    marker.hidden = true;
    return;
  }
  const sy = h / layer.height;
  const sx = w / layer.width;
  const pct = (v, of) => `${(100 * v / of).toFixed(3)}%`;
  marker.style.left = pct(x + k * sx * at[1], r.width);
  marker.style.top = pct(y + k * sy * at[0], r.height);
  marker.style.width = pct(k * sx, r.width);
  marker.style.height = pct(k * sy, r.height);
}

const percent = v => `${Math.round(100 * Number(v))}%`;

async function choose(source, name, sample) {
  $('error').textContent = '';
  let bitmap;
  try {
    bitmap = await createImageBitmap(source);
  } catch {
    showError(new Error(`${name} could not be read as an image (${source.type || 'unknown type'}).`));
    return;
  }
  image?.close();
  image = bitmap;
  for (const b of $('samples').querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === sample));
  const p = $('preview');
  p.width = image.width;
  p.height = image.height;
  p.getContext('2d').drawImage(image, 0, 0);
  p.classList.toggle('smooth', image.width > 128);
  p.setAttribute('aria-label', `The chosen image, ${name}, ${image.width}×${image.height} pixels`);
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
  if (className) e.className = className;
  return e;
}

/**
 * drawMaps computes the maps in turn, each drawn as it comes. A newer run
 * (another image, unit or overlay) makes this one drop its results: the
 * call in flight finishes in the worker, and nothing after it starts.
 */
async function drawMaps(run) {
  const layer = chosenLayer();
  const name = layer?.name ?? '';
  const layers = $('switches').checked ? info.switchedLayers : info.layers;
  const overlay = Number($('overlay').value);
  const target = {
    layer: name, unit: Number($('unit').value), switches: $('switches').checked, pool: $('spread').checked ? 'spread' : 'switches',
    // 1 is the map alone, as 0 (the default) is.
    overlay: overlay < 1 ? overlay : 0,
  };
  const at = place();
  if (at) target.at = at;
  const figures = methods.map(m => $(`fig-${m.id}`));
  for (const f of figures) f.classList.add('stale');
  $('maps').setAttribute('aria-busy', 'true');
  const t0 = performance.now();
  let what = '';
  for (const [i, m] of methods.entries()) {
    const c = $(`map-${m.id}`);
    const ms = figures[i].querySelector('.ms');
    const options = { ...m.options(info), ...target };
    if (m.camlayer) {
      const cam = camLayer(layers, name);
      if (cam === null) {
        // The first convolution's units have no layer below them.
        c.width = c.height = 1;
        c.setAttribute('aria-label', `${m.label}: no map for a unit of ${name}, which has no convolution below it`);
        ms.textContent = `none below ${name}`;
        figures[i].classList.remove('stale');
        mark(figures[i], null);
        continue;
      }
      if (cam !== '') options.camlayer = cam;
    }
    const t = performance.now();
    const s = await model.saliency(image, options);
    if (run !== runs) return;
    ms.textContent = `${Math.round(performance.now() - t)} ms`;
    what ||= name === '' ? `class ${info.classes[s.unit]}` : `${name} channel ${s.unit} at (${s.at[0]}, ${s.at[1]})`;
    c.width = s.width;
    c.height = s.height;
    c.getContext('2d').putImageData(s.imageData, 0, 0);
    c.setAttribute('aria-label', `${m.label} map of ${what}${options.camlayer ? ` (Grad-CAM at ${options.camlayer})` : ''}`);
    figures[i].classList.remove('stale');
    mark(figures[i], layer, s.at);
  }
  $('explained').replaceChildren(
    `Explaining ${what}${target.switches ? ', with switches' : ''}${target.pool === 'spread' ? ', max-pools without switches' : ''}; ${methods.length} maps in `,
    text('span', `${Math.round(performance.now() - t0)} ms`, 'ms'));
  $('maps').setAttribute('aria-busy', 'false');
  state('done');
}

main();
