/**
 * The few filesystem operations the device-file providers need, behind an interface so tests can
 * stand in a fake tree (and simulate what configfs does on mkdir/write) without a TEE.
 */
import { mkdir, open, rmdir, stat } from 'node:fs/promises';

export interface ProviderFs {
  /** True when `path` exists (file or directory). */
  exists(path: string): Promise<boolean>;
  /** Reads at most `max + 1` bytes, so the caller can tell "exactly max" from "too large". */
  readFile(path: string, max: number): Promise<Uint8Array>;
  /** Writes `data` in one write(2) call: configfs and Gramine take an attribute per write. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
}

const CHUNK = 16 * 1024;

/** The real filesystem (node:fs/promises). */
export const nodeProviderFs: ProviderFs = {
  async exists(path) {
    try {
      await stat(path);
      return true;
    } catch {
      return false;
    }
  },
  async readFile(path, max) {
    // Pseudo-files (configfs, Gramine's /dev/attestation) report size 0 in stat: read until EOF,
    // never more than max + 1 bytes.
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(max + 1);
      let n = 0;
      while (n < buf.length) {
        const { bytesRead } = await fh.read(buf, n, Math.min(CHUNK, buf.length - n), null);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      return new Uint8Array(buf.buffer, buf.byteOffset, n);
    } finally {
      await fh.close();
    }
  },
  async writeFile(path, data) {
    const fh = await open(path, 'w');
    try {
      const { bytesWritten } = await fh.write(data, 0, data.length, null);
      if (bytesWritten !== data.length) {
        throw new Error(`short write: ${bytesWritten} of ${data.length} bytes`);
      }
    } finally {
      await fh.close();
    }
  },
  async mkdir(path) {
    await mkdir(path);
  },
  async rmdir(path) {
    await rmdir(path);
  },
};
