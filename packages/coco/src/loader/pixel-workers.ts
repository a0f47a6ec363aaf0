// Worker threads (Node) for the fused pixel pass, so that a consumer blocking the JS thread (a
// training step on the cpu or wasm backend) does not stall preprocessing. The worker runs the
// source of writeImageKernel; decoded pixels go in and the padded batch comes back, both transferred.

import type { RgbImage } from '../image/decoder';
import { writeImageKernel } from '../transforms/fused';
import type { PixelNormalization } from '../transforms/normalize';

export interface PixelJobImage {
  image: RgbImage;
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
const { parentPort } = require('node:worker_threads');
const writeImageKernel = (${writeImageKernel.toString()});
parentPort.on('message', (job) => {
  try {
    const out = new Float32Array(job.images.length * job.height * job.width * 3);
    const order = job.pixels.channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
    job.images.forEach((it, i) => {
      writeImageKernel(it.data, it.width, it.height, it.size[0], it.size[1], it.flip, order, job.pixels.mean, job.pixels.std,
        out, i * job.height * job.width * 3, job.width * 3);
    });
    parentPort.postMessage({ id: job.id, out }, [out.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String(err && err.stack || err) });
  }
});
`;

/** Whole-buffer copy when the view shares its ArrayBuffer (sharp's pool), so transferring detaches nothing else. */
function ownBuffer(data: Uint8Array): Uint8Array {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer ? data : data.slice();
}

/** Starts `count` workers; null where worker_threads is unavailable (browsers: the loader works inline). */
export async function startPixelWorkers(count: number): Promise<PixelWorkers | null> {
  if (count < 1 || typeof process === 'undefined' || !process.versions?.node) return null;
  let Worker: new (src: string, opts: { eval: boolean }) => NodeWorker;
  try {
    ({ Worker } = (await import('node:worker_threads')) as unknown as { Worker: typeof Worker });
  } catch {
    return null;
  }
  const pending = new Map<number, { resolve: (a: Float32Array) => void; reject: (e: Error) => void; worker: number }>();
  const busy = new Array(count).fill(0);
  const workers: NodeWorker[] = [];
  let nextId = 0;
  let failure: Error | null = null;
  for (let i = 0; i < count; i++) {
    const w = new Worker(workerSource, { eval: true });
    w.unref(); // idle workers never keep the process alive
    w.on('message', (msg: never) => {
      const { id, out, error } = msg as { id: number; out?: Float32Array; error?: string };
      const job = pending.get(id);
      if (!job) return;
      pending.delete(id);
      if (--busy[job.worker] === 0) w.unref();
      if (error || !out) job.reject(new Error(`pixel worker: ${error}`));
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
    run(job) {
      if (failure) return Promise.reject(failure);
      const k = busy.indexOf(Math.min(...busy));
      const id = nextId++;
      const images = job.images.map((it) => {
        const data = ownBuffer(it.image.data);
        return { data, width: it.image.width, height: it.image.height, size: it.size, flip: it.flip };
      });
      return new Promise<Float32Array>((resolve, reject) => {
        pending.set(id, { resolve, reject, worker: k });
        if (busy[k]++ === 0) workers[k].ref();
        workers[k].postMessage(
          { id, images, height: job.height, width: job.width, pixels: job.pixels },
          images.map((it) => it.data.buffer as ArrayBuffer),
        );
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
