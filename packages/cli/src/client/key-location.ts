/**
 * Where a private key written to a file is protected by the TEE, per TEE (docs/client.md, "Where
 * keys may live"). Only the operator knows the manifest or the mounts, so the answer is "yes"
 * only for what the code can see or the operator names (`protectedDirs`):
 * - Nitro: the enclave has no persistent storage; its file system is enclave memory.
 * - TDX / SEV-SNP: guest memory is encrypted, so a memory-backed file system (tmpfs, ramfs) is
 *   protected; a disk is host-visible unless it is an encrypted mount the operator names.
 * - SGX under Gramine: only encrypted mounts (`fs.mounts` with `type = "encrypted"`) are
 *   protected; every other path is a plaintext file on the host. Named by the operator.
 */
import { statfsSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import type { TeeKind } from '@ratls/attester';

/** statfs(2) f_type of the memory-backed file systems (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

function under(path: string, dir: string): boolean {
  const d = resolve(dir);
  return path === d || path.startsWith(d.endsWith(sep) ? d : d + sep);
}

/** The file system type of the directory that will hold `path`, or undefined when unknown. */
function fsType(path: string): number | undefined {
  try {
    return Number(statfsSync(dirname(path)).type);
  } catch {
    return undefined;
  }
}

/**
 * Why a key at `path` is NOT protected by the TEE, or undefined when it is.
 * @example keyLocationWarning('/data/app.key', 'sgx', ['/secrets']) // 'under Gramine only encrypted mounts…'
 */
export function keyLocationWarning(
  path: string,
  tee: TeeKind,
  protectedDirs: readonly string[],
  typeOf: (p: string) => number | undefined = fsType,
): string | undefined {
  const p = resolve(path);
  if (tee === 'nitro') return undefined;
  if (protectedDirs.some((d) => under(p, d))) return undefined;
  if (tee === 'sgx')
    return `${p} is not under a protected path: under Gramine only encrypted mounts (fs.mounts type "encrypted") keep a file inside the enclave; anything else is plaintext on the host. Name the mount with --protected DIR.`;
  const t = typeOf(p);
  if (t === TMPFS_MAGIC || t === RAMFS_MAGIC) return undefined;
  return `${p} is not on a memory-backed file system (tmpfs, ramfs): a ${tee.toUpperCase()} guest's disk is visible to the host unless it is encrypted (dm-crypt/LUKS inside the guest). Name an encrypted mount with --protected DIR, or write under /dev/shm or another tmpfs.`;
}
