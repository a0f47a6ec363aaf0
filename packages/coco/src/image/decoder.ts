// Image decoding: sharp in Node (loaded on first use, so browser bundles never need it), or any
// injected decoder (the browser's, via canvasImageDecoder()).

import { ImageDecodeError } from '../errors';

/** 8-bit RGB pixels, row-major HWC. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Decodes encoded image bytes (JPEG, PNG) to RGB; `source` only names the image in errors. */
export type ImageDecoder = (bytes: Uint8Array, source: string) => Promise<RgbImage>;

export interface ImageHeader {
  width: number;
  height: number;
  format: string;
}

let injected: ImageDecoder | null = null;

/** Replaces the default decoder (sharp in Node) everywhere in this package; null restores it. */
export function setImageDecoder(decoder: ImageDecoder | null): void {
  injected = decoder;
}

type Sharp = typeof import('sharp')['default'];
let sharpModule: Promise<Sharp> | null = null;

const isNode = () => typeof process !== 'undefined' && !!process.versions?.node;

async function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then(
    (m) => m.default,
    (err: Error) => {
      sharpModule = null;
      throw new Error(`@dynhead/coco decodes images with sharp in Node, which is not installed (npm install sharp), or pass a decoder: ${err.message}`);
    },
  );
  return sharpModule;
}

/** sharp: RGB out whatever comes in (grey expanded, alpha dropped); no EXIF rotation, as COCO boxes expect. */
export const sharpImageDecoder: ImageDecoder = async (bytes, source) => {
  const sharp = await loadSharp();
  try {
    const { data, info } = await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
    };
  } catch (err) {
    const why = (err as Error).message;
    // libvips turns "premature end of data" into a warning that sharp's failOn setting then raises.
    throw new ImageDecodeError(`cannot decode image ${source}: ${/failOn/.test(why) ? 'corrupt or truncated image data' : why}`);
  }
};

/** The browser's decoder: createImageBitmap + OffscreenCanvas (no colour-space conversion, no EXIF rotation). */
export function canvasImageDecoder(): ImageDecoder {
  return async (bytes, source) => {
    try {
      const bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), {
        imageOrientation: 'none',
        colorSpaceConversion: 'none',
        premultiplyAlpha: 'none',
      });
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext('2d');
      if (!ctx) throw new Error('no 2d context');
      ctx.drawImage(bitmap, 0, 0);
      const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
      const rgb = new Uint8Array(bitmap.width * bitmap.height * 3);
      for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
        rgb[j] = rgba[i];
        rgb[j + 1] = rgba[i + 1];
        rgb[j + 2] = rgba[i + 2];
      }
      bitmap.close();
      return { data: rgb, width: canvas.width, height: canvas.height };
    } catch (err) {
      throw new ImageDecodeError(`cannot decode image ${source}: ${(err as Error).message}`);
    }
  };
}

function defaultDecoder(): ImageDecoder {
  if (injected) return injected;
  if (isNode()) return sharpImageDecoder;
  if (typeof createImageBitmap === 'function') return canvasImageDecoder();
  throw new Error('no image decoder: call setImageDecoder() or pass { decoder }');
}

export function decodeImage(bytes: Uint8Array, source: string, decoder: ImageDecoder = defaultDecoder()): Promise<RgbImage> {
  return decoder(bytes, source);
}

/** A file's bytes: node:fs in Node, fetch elsewhere (paths are then URLs). */
export async function readBytes(path: string): Promise<Uint8Array> {
  if (isNode() && !/^https?:/.test(path)) {
    const { readFile } = await import('node:fs/promises');
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  const res = await fetch(path);
  if (!res.ok) throw new ImageDecodeError(`cannot fetch image ${path}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Reads and decodes an image file to RGB. */
export async function loadImage(path: string, opts: { decoder?: ImageDecoder } = {}): Promise<RgbImage> {
  return decodeImage(await readBytes(path), path, opts.decoder);
}

/** Size and format from the header alone (sharp; Node). */
export async function readImageHeader(path: string): Promise<ImageHeader> {
  const sharp = await loadSharp();
  const meta = await sharp(path).metadata();
  if (!meta.width || !meta.height) throw new ImageDecodeError(`cannot read the size of image ${path}`);
  return {
    width: meta.width,
    height: meta.height,
    format: meta.format ?? 'unknown',
  };
}
