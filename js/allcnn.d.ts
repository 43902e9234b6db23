// Types of allcnn.js: the All Convolutional Net in the browser.

/** What load needs: the weight file, and where the package's files are. */
export interface LoadOptions {
  /** The weight file: a URL (relative to the document), or its bytes (copied). */
  model: string | URL | ArrayBuffer | ArrayBufferView;
  /** allcnn.wasm: a URL, its bytes, or a compiled module. Default: beside allcnn.js. */
  wasm?: string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module;
  /** The URL of Go's wasm_exec.js. Default: beside allcnn.js. */
  wasmExec?: string | URL;
  /**
   * simd128.wasm, the SIMD128 kernels of the matrix products: a URL, its
   * bytes, or a compiled module. true (default): beside allcnn.js. false:
   * Go's scalar code (which also runs where the engine lacks SIMD128).
   */
  simd?: string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module | boolean;
  /** true (default): compute in a Web Worker; false: in the calling thread. */
  worker?: boolean;
  /**
   * How many Web Workers compute (default 1; from 1 to 64; more than 1
   * needs worker: true), each with its own copy of the model. The maps that
   * average many copies of the image (smoothgrad, smoothgrad2, vargrad,
   * integrated) share the copies among the workers and
   * are the maps one worker computes (to float rounding: a copy's last bits
   * depend on the batch it runs in); other calls go to the least busy.
   */
  workers?: number;
}

/** A layer whose units saliency can explain. */
export interface LayerInfo {
  name: string;
  type: string;
  channels: number;
  height: number;
  width: number;
}

/** What a weight file holds, as info() returns it. */
export interface Info {
  name: string;
  /** [channels, height, width] of the network's input. */
  input: [number, number, number];
  classes: string[];
  preprocess: 'none' | 'channel' | 'gcn-zca';
  /**
   * The input contract: how an image becomes the input. resize: the
   * image's centred crop to the input's aspect ratio, resampled to the
   * input; canvas: resampled to source and centred on a zero canvas of the
   * input's size (Large All-CNN); crop: resampled to source, then the
   * input's central window (ImageNet-style nets).
   */
  place: 'resize' | 'canvas' | 'crop';
  /** [height, width] an image is resampled to before it is placed. */
  source: [number, number];
  /** What to show once, e.g. a weight file older than the input contract. */
  warnings: string[];
  /** The targets of saliency's layer option. */
  layers: LayerInfo[];
  /** The same for switches: true (the paper's switched net, Figs. 4–5). */
  switchedLayers: LayerInfo[];
  /** Free-form metadata of the file, such as trained: "no". */
  meta: Record<string, string>;
}

/** A class and its probability. */
export interface ClassProb {
  index: number;
  name: string;
  prob: number;
}

export interface ClassifyOptions {
  /** How many classes top holds: default 5; Infinity for all. */
  top?: number;
}

export interface Classification {
  /** The most probable classes, most probable first. */
  top: ClassProb[];
  /** One probability per class (softmax of the logits). */
  probs: Float32Array;
}

/** What a saliency map explains and how it is drawn (NOTES.md §6). */
export interface SaliencyOptions {
  /**
   * The method: the paper's backward rule at every ReLU (gradient, the
   * default; deconvnet; guided), or SmoothGrad (smoothgrad, smoothgrad2,
   * vargrad), integrated gradients, Grad-CAM, guided Grad-CAM, occlusion.
   */
  method?: 'gradient' | 'deconvnet' | 'guided' | 'smoothgrad' | 'smoothgrad2' | 'vargrad'
    | 'integrated' | 'gradcam' | 'guided-gradcam' | 'occlusion';
  /** The rule the SmoothGrad family averages. Default: gradient. */
  rule?: 'gradient' | 'deconvnet' | 'guided';
  /** SmoothGrad's noisy copies, 1 to 4096. Default: 16. */
  samples?: number;
  /** SmoothGrad's σ as a fraction of the image's value range. Default: 0.15. */
  noise?: number;
  /** SmoothGrad's random seed. Default: 0. */
  seed?: number;
  /** Integrated gradients' points on the path, 1 to 4096. Default: 32. */
  steps?: number;
  /** Integrated gradients' baseline. Default: zero. */
  baseline?: 'zero' | 'blur' | 'mean';
  /** Grad-CAM's layer, from Info.layers. Default: the highest convolution below the class layer with a map larger than 1×1. */
  camlayer?: string;
  /** Occlusion's patch side in pixels. Default: an eighth of the input. */
  window?: number;
  /** Occlusion's step in pixels. Default: half the window. */
  stride?: number;
  /** A name from Info.layers (or Info.switchedLayers); "" (default): the classes. */
  layer?: string;
  /** Class or channel; -1 (default): the strongest. */
  unit?: number;
  /** [y, x] in the layer's map; default: where the unit is strongest. */
  at?: [number, number];
  /** The switched net of the paper's Figs. 4–5. Default: false. */
  switches?: boolean;
  /**
   * How max-pools send the signal back: through the switches their forward
   * pass recorded (default), or spread evenly over each window (the
   * paper's reconstruction without switches).
   */
  pool?: 'switches' | 'spread';
  /** How colour channels collapse. Default: sum. */
  reduce?: 'sum' | 'max' | 'maxabs';
  /** Which part of the map to show. Default: all. */
  sign?: 'all' | 'positive' | 'negative' | 'absolute';
  /** Percentile of |v| at which outliers are clamped, 0 (default) to 100. */
  clip?: number;
  /** Default: gray. */
  colormap?: 'gray' | 'viridis' | 'inferno' | 'coolwarm' | 'rgb';
  /** Weight of the map blended over the input image, 0 (default) to 1. */
  overlay?: number;
}

export interface Saliency {
  /** The map drawn at the input size (where ImageData exists). */
  imageData?: ImageData;
  /** The same pixels: width·height RGBA, opaque. */
  rgba: Uint8ClampedArray;
  width: number;
  height: number;
  /** The map itself: c·h·w values, in the input's layout. */
  raw: Float32Array;
  /** The class or channel explained (resolved when unit was -1). */
  unit: number;
  /** Its position [y, x] in the layer's map. */
  at: [number, number];
}

/** Pixels given directly, as in an ImageData. */
export interface RGBAImage {
  data: Uint8ClampedArray | Uint8Array;
  width: number;
  height: number;
}

export type ImageInput =
  | HTMLImageElement
  | HTMLCanvasElement
  | HTMLVideoElement
  | OffscreenCanvas
  | ImageBitmap
  | VideoFrame
  | ImageData
  | Blob
  | RGBAImage;

/** A weight file loaded into allcnn.wasm. */
export declare class AllCNN {
  private constructor();
  /** Starts allcnn.wasm and loads a weight file into it. */
  static load(options: LoadOptions): Promise<AllCNN>;
  /** true: the matrix products run on the SIMD128 kernels; false: on Go's scalar code. */
  readonly simd: boolean;
  /** Describes the model (a copy). */
  info(): Promise<Info>;
  /** Class probabilities of an image. */
  classify(img: ImageInput, options?: ClassifyOptions): Promise<Classification>;
  /** A saliency map of one unit for an image. */
  saliency(img: ImageInput, options?: SaliencyOptions): Promise<Saliency>;
  /** Frees the model; later calls reject. */
  dispose(): void;
}
