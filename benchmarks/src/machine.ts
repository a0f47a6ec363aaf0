import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  tfjs: string;
  backend: string;
  /** The backend's own description (GPU adapter, wasm SIMD). */
  backendDetail: string;
}

export function describeMachine(backend: string, backendDetail: string): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    tfjs: tf.version_core,
    backend,
    backendDetail,
  };
}

export function machineLine(m: Machine): string {
  return `${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), ${m.os}, Node ${m.node}, tfjs ${m.tfjs}, backend ${m.backend} (${m.backendDetail})`;
}
