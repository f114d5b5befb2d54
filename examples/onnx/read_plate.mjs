// Read plates with an exported plateread ONNX file in JavaScript, without plateread: greedy
// decoding and calibrated confidences, as docs/onnx-model.md describes.
//
//   npm install            (in this folder: onnxruntime-web, onnx-proto, and sharp for Node)
//   node read_plate.mjs MODEL.onnx IMAGE...
//
// In a browser, import loadReader, readPlate and pixelsFromImage from this module through a
// bundler (esbuild, Vite: onnx-proto is CommonJS), and set ort.env.wasm.wasmPaths to where
// onnxruntime-web's .wasm files are served.
import * as ort from "onnxruntime-web";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** The reader: ONNX Runtime session, alphabet, input size and calibration curves of one file. */
export async function loadReader(bytes) {
  // ONNX Runtime for JavaScript does not expose a model's custom metadata: read it from the file
  const props = onnx.ModelProto.decode(bytes).metadataProps;
  const meta = Object.fromEntries(props.map((p) => [p.key, p.value]));
  const info = JSON.parse(meta.plateread);
  const [height, width] = info.input_size;
  return {
    session: await ort.InferenceSession.create(bytes),
    alphabet: Array.from(info.format.alphabet), // one entry per character
    height,
    width,
    curves: meta.plateread_calibration ? JSON.parse(meta.plateread_calibration) : {},
  };
}

/** A raw confidence mapped through the curve of that name, by linear interpolation. */
function calibrated(reader, name, raw) {
  const curve = reader.curves[name];
  if (!curve) return raw;
  const [xs, ys] = curve;
  if (raw <= xs[0]) return ys[0];
  if (raw >= xs[xs.length - 1]) return ys[ys.length - 1];
  let i = 1;
  while (xs[i] < raw) i += 1;
  const t = (raw - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[i - 1] + t * (ys[i] - ys[i - 1]);
}

/** [text, plate confidence, per-character confidences] of one crop's RGB pixels (H x W x 3). */
export async function readPlate(reader, rgb) {
  const images = new ort.Tensor("uint8", rgb, [1, reader.height, reader.width, 3]);
  const { logits } = await reader.session.run({ images });
  const [, steps, classes] = logits.dims;
  let text = "";
  const chars = [];
  let previous = 0;
  for (let t = 0; t < steps; t += 1) {
    const row = logits.data.subarray(t * classes, (t + 1) * classes);
    let best = 0;
    for (let k = 1; k < classes; k += 1) if (row[k] > row[best]) best = k;
    let sum = 0;
    for (let k = 0; k < classes; k += 1) sum += Math.exp(row[k] - row[best]);
    const p = 1 / sum; // softmax probability of the best class
    if (best !== 0 && best !== previous) {
      text += reader.alphabet[best - 1];
      chars.push(p);
    } else if (best !== 0) {
      chars[chars.length - 1] = Math.max(chars[chars.length - 1], p);
    }
    previous = best;
  }
  const plate = chars.length ? chars.reduce((a, b) => a * b, 1) : 0;
  return [
    text,
    calibrated(reader, "plate", plate),
    chars.map((c) => calibrated(reader, "char", c)),
  ];
}

/** In a browser: RGB pixels of an <img> or ImageBitmap, resized to the model's input. */
export function pixelsFromImage(reader, image) {
  const canvas = new OffscreenCanvas(reader.width, reader.height);
  const context = canvas.getContext("2d");
  context.imageSmoothingQuality = "high";
  context.drawImage(image, 0, 0, reader.width, reader.height);
  const rgba = context.getImageData(0, 0, reader.width, reader.height).data;
  return Uint8Array.from({ length: reader.width * reader.height * 3 }, (_, i) =>
    rgba[Math.floor(i / 3) * 4 + (i % 3)],
  );
}

// of sharp's resize kernels, the one whose pixels read most like OpenCV's (docs/onnx-model.md)
const KERNEL = "linear";

/** In Node: RGB pixels of an image file, resized to the model's input (with sharp). */
export async function pixelsFromFile(reader, path) {
  const { default: sharp } = await import("sharp");
  return sharp(path)
    .rotate() // as the EXIF orientation says
    .removeAlpha()
    .toColourspace("srgb")
    .resize(reader.width, reader.height, { fit: "fill", kernel: KERNEL })
    .raw()
    .toBuffer();
}

if (typeof process !== "undefined" && process.argv.length > 3) {
  const { readFileSync } = await import("node:fs");
  const reader = await loadReader(readFileSync(process.argv[2]));
  for (const path of process.argv.slice(3)) {
    const [text, confidence, chars] = await readPlate(reader, await pixelsFromFile(reader, path));
    console.log(JSON.stringify({ path, text, confidence, chars }));
  }
}
