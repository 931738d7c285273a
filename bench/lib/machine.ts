import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './lambdaTarget';

export interface MachineInfo {
  date: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  onnxruntimeNode: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  let ort = 'unknown';
  try {
    ort = (
      JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/onnxruntime-node/package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    // reported as unknown
  }
  return {
    date: new Date().toISOString(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    onnxruntimeNode: ort,
  };
}
