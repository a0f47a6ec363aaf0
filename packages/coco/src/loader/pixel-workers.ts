// Worker threads (Node) that read, decode (sharp), resize, flip and normalise whole batches, so that
// a consumer blocking the JS thread (a training step on the cpu or wasm backend) does not stall the
// input pipeline: the main thread only posts a job and wraps the returned floats in a tensor. The
// pixel pass is the source of writeImageKernel; with an injected decoder, decoding stays on the
// main thread and only the pixel pass moves.

import type { RgbImage } from '../image/decoder';
import { writeImageKernel } from '../transforms/fused';
import type { PixelNormalization } from '../transforms/normalize';

export interface PixelJobImage {
  /** Decoded pixels, or the file for the worker to read and decode. */
  image: RgbImage | { path: string; width: number; height: number };
  size: [number, number];
  flip: boolean;
}

export interface PixelJob {
  images: PixelJobImage[];
  /** Padded batch height and width. */
  height: number;
  width: number;
  pixels: PixelNormalization;
}

export interface PixelWorkers {
  /** Whether jobs may name files (the workers could load sharp). */
  readonly decodes: boolean;
  /** The padded [B, H, W, 3] batch as floats. */
  run(job: PixelJob): Promise<Float32Array>;
  close(): Promise<void>;
}

interface NodeWorker {
  postMessage(value: unknown, transfer?: ArrayBuffer[]): void;
  on(event: 'message' | 'error' | 'exit', listener: (value: never) => void): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
}

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFile } = require('node:fs/promises');
const writeImageKernel = (${writeImageKernel.toString()});
const sharpReady = workerData.sharpUrl ? import(workerData.sharpUrl).then((m) => m.default || m) : Promise.resolve(null);
async function decode(it) {
  if (it.data) return it;
  const sharp = await sharpReady;
  if (!sharp) throw new Error('no decoder in the worker');
  let out;
  try {
    out = await sharp(await readFile(it.path)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    const why = String(err && err.message || err);
    throw new Error('cannot decode image ' + it.path + ': ' + (/failOn/.test(why) ? 'corrupt or truncated image data' : why));
  }
  if (out.info.width !== it.width || out.info.height !== it.height || out.info.channels !== 3)
    throw new Error(it.path + ': decoded ' + out.info.width + 'x' + out.info.height + ', the dataset declares ' + it.width + 'x' + it.height);
  return { data: out.data, width: it.width, height: it.height };
}
parentPort.on('message', async (job) => {
  try {
    const decoded = await Promise.all(job.images.map(decode));
    const out = new Float32Array(job.images.length * job.height * job.width * 3);
    const order = job.pixels.channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
    job.images.forEach((it, i) => {
      const d = decoded[i];
      writeImageKernel(d.data, d.width, d.height, it.size[0], it.size[1], it.flip, order, job.pixels.mean, job.pixels.std,
        out, i * job.height * job.width * 3, job.width * 3);
    });
    parentPort.postMessage({ id: job.id, out }, [out.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String(err && err.message || err) });
  }
});
`;

/** Whole-buffer copy when the view shares its ArrayBuffer (sharp's pool), so transferring detaches nothing else. */
function ownBuffer(data: Uint8Array): Uint8Array {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer ? data : data.slice();
}

/** Where sharp lives, as a file URL the workers can import; null when it cannot be found. */
async function resolveSharpUrl(): Promise<string | null> {
  try {
    const { createRequire } = await import('node:module');
    const { pathToFileURL } = await import('node:url');
    // The package's own location first (CJS: __filename; ESM: import.meta.url), then the working directory.
    const here = typeof __filename === 'string' ? __filename : (import.meta as { url?: string }).url;
    const bases = [here, `${process.cwd()}/noop.js`].filter((b): b is string => !!b);
    for (const base of bases) {
      try {
        return pathToFileURL(createRequire(base).resolve('sharp')).href;
      } catch {
        // try the next base
      }
    }
  } catch {
    // not Node
  }
  return null;
}

declare const __filename: string | undefined;

/** Starts `count` workers; null where worker_threads is unavailable (browsers: the loader works inline). */
export async function startPixelWorkers(count: number, opts: { decode?: boolean } = {}): Promise<PixelWorkers | null> {
  if (count < 1 || typeof process === 'undefined' || !process.versions?.node) return null;
  let Worker: new (src: string, opts: { eval: boolean; workerData: unknown }) => NodeWorker;
  try {
    ({ Worker } = (await import('node:worker_threads')) as unknown as {
      Worker: typeof Worker;
    });
  } catch {
    return null;
  }
  const sharpUrl = opts.decode === false ? null : await resolveSharpUrl();
  const pending = new Map<
    number,
    {
      resolve: (a: Float32Array) => void;
      reject: (e: Error) => void;
      worker: number;
    }
  >();
  const busy = new Array(count).fill(0);
  const workers: NodeWorker[] = [];
  let nextId = 0;
  let failure: Error | null = null;
  for (let i = 0; i < count; i++) {
    const w = new Worker(workerSource, {
      eval: true,
      workerData: { sharpUrl },
    });
    w.unref(); // idle workers never keep the process alive
    w.on('message', (msg: never) => {
      const { id, out, error } = msg as {
        id: number;
        out?: Float32Array;
        error?: string;
      };
      const job = pending.get(id);
      if (!job) return;
      pending.delete(id);
      if (--busy[job.worker] === 0) w.unref();
      if (error || !out) job.reject(new Error(error));
      else job.resolve(out);
    });
    const fail = (err: Error) => {
      failure = err;
      for (const [id, job] of pending) {
        if (job.worker !== i) continue;
        pending.delete(id);
        job.reject(err);
      }
    };
    w.on('error', (err: never) => fail(new Error(`pixel worker failed: ${(err as Error).message}`)));
    w.on('exit', (code: never) => {
      if (code !== 0) fail(new Error(`pixel worker exited with code ${code}`));
    });
    workers.push(w);
  }
  return {
    decodes: sharpUrl !== null,
    run(job) {
      if (failure) return Promise.reject(failure);
      const k = busy.indexOf(Math.min(...busy));
      const id = nextId++;
      const transfer: ArrayBuffer[] = [];
      const images = job.images.map((it) => {
        const im = it.image;
        if (!('data' in im))
          return {
            path: im.path,
            width: im.width,
            height: im.height,
            size: it.size,
            flip: it.flip,
          };
        const data = ownBuffer(im.data);
        transfer.push(data.buffer as ArrayBuffer);
        return {
          data,
          width: im.width,
          height: im.height,
          size: it.size,
          flip: it.flip,
        };
      });
      return new Promise<Float32Array>((resolve, reject) => {
        pending.set(id, { resolve, reject, worker: k });
        if (busy[k]++ === 0) workers[k].ref();
        workers[k].postMessage(
          {
            id,
            images,
            height: job.height,
            width: job.width,
            pixels: job.pixels,
          },
          transfer,
        );
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
