// The maps the demo draws side by side, in the order it shows and computes
// them: the paper's three backward rules (§3.4, Fig. 1), then the methods
// beyond it (allcnn.Methods in the Go package). A module of its own so that
// the browser tests time exactly the requests the page makes.

// The paper's look, as `allcnn viz` draws it: the colour channels, zero as
// grey, outliers clipped at the 99.5th percentile.
const rgb = { colormap: 'rgb', clip: 99.5 };
// SmoothGrad's and integrated gradients' look, near their authors' (Smilkov
// et al. §3.1; captum's visualize_image_attr): the magnitude in grey,
// clipped at the 99th percentile. They sum the colour channels'
// magnitudes; the API's nearest is the largest of them (maxabs).
const magnitude = { reduce: 'maxabs', sign: 'absolute', colormap: 'gray', clip: 99 };

/**
 * methods: id (the canvas is #map-ID), paper (one of the paper's rules),
 * label (the caption and the maps' accessible names), about (one line on
 * what it computes), options(info) (the saliency options for the model
 * that info describes, before the unit and the overlay), and camlayer
 * (whether it needs a Grad-CAM layer below the unit explained: camLayer).
 */
export const methods = [
  { id: 'gradient', paper: true, label: 'Gradient', about: 'backpropagation to the input (Simonyan et al. 2014)', options: () => ({ method: 'gradient', ...rgb }) },
  { id: 'deconvnet', paper: true, label: '“Deconvnet”', about: 'Zeiler and Fergus’s rule at every rectifier', options: () => ({ method: 'deconvnet', ...rgb }) },
  { id: 'guided', paper: true, label: 'Guided backpropagation', about: 'the paper’s rule: both of the above at every rectifier', options: () => ({ method: 'guided', ...rgb }) },
  // 12 noisy copies, σ 15% of the image's range, computed as one batch. 16
  // (the API's default) cost 11.3× a guided map here (CPU time in Chromium,
  // All-CNN-C at width ½: 146–153 ms against 13 ms; a pass costs about as
  // much per example in a batch of 16 as alone); 12 cost 8.4–8.6×, within
  // the 10× of interactive speed. demo.test.mjs measures both.
  { id: 'smoothgrad', label: 'SmoothGrad', about: 'the mean gradient of 12 noisy copies, σ = 15% of the range (Smilkov et al. 2017)', options: () => ({ method: 'smoothgrad', samples: 12, noise: 0.15, ...magnitude }) },
  { id: 'integrated', label: 'Integrated gradients', about: 'the gradient averaged over 32 steps on the way from the mean colour (zero after normalisation) to the image, times their difference (Sundararajan et al. 2017)', options: () => ({ method: 'integrated', steps: 32, baseline: 'zero', ...magnitude }) },
  // Grad-CAM is one non-negative plane: a heat map, not colour channels.
  { id: 'gradcam', label: 'Grad-CAM', about: 'a layer’s maps weighted by their mean gradients, rectified and enlarged (Selvaraju et al. 2017)', camlayer: true, options: () => ({ method: 'gradcam', colormap: 'inferno', sign: 'positive' }) },
  { id: 'guided-gradcam', label: 'Guided Grad-CAM', about: 'guided backpropagation times Grad-CAM', camlayer: true, options: () => ({ method: 'guided-gradcam', ...rgb }) },
  // A patch of a quarter of the input's side, every eighth: 7×7 positions
  // on 32×32, 49 forward passes (the API's default, a window of an eighth
  // every sixteenth, takes 225).
  {
    id: 'occlusion', label: 'Occlusion', about: 'how much the unit falls when a patch of the mean colour hides each place: red where it falls, blue where it rises (Zeiler and Fergus 2014)',
    options: ({ input: [, h, w] }) => ({ method: 'occlusion', window: Math.max(1, Math.round(Math.min(h, w) / 4)), stride: Math.max(1, Math.round(Math.min(h, w) / 8)), colormap: 'coolwarm' }),
  },
];

/**
 * camLayer is the Grad-CAM layer for a unit of the named layer of layers
 * (info.layers or info.switchedLayers): "" for a class (the API's default,
 * the highest convolution with a map larger than 1×1), else the highest
 * convolution below the named layer with such a map; null if there is none
 * (the first convolution's units).
 */
export function camLayer(layers, name) {
  if (name === '') return '';
  const i = layers.findIndex(l => l.name === name);
  for (let j = i - 1; j >= 0; j--) {
    const l = layers[j];
    if (l.type === 'conv' && l.height * l.width > 1) return l.name;
  }
  return null;
}
