/**
 * EAR signing keys kept in a folder, so every gateway worker signs with keys the JWKS publishes
 * (each worker serves the JWKS too, and a relying party may fetch it from any of them). One file
 * per key, `<kid>.key` (PKCS#8 PEM, mode 0600); the newest file signs, every file is published.
 * Rotation: add a key file and restart (the old one stays published); retirement: remove its file
 * once its tokens have expired (or at once, on compromise) and restart.
 */
import { webcrypto } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { x509 } from '@ratls/attester/x509';
import { RatlsError } from '@ratls/evidence';
import { EarKeyRing } from './ear-keys.js';

const KID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** A folder of a few keys; more is a mistake, not a rotation. */
const MAX_KEYS = 16;

function configError(msg: string, cause?: unknown): RatlsError {
  return new RatlsError('ERR_IDENTITY_CONFIG', 'identity', msg, cause === undefined ? undefined : { cause });
}

function keyFiles(dir: string): { kid: string; path: string; mtimeMs: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw configError(`cannot read the EAR keys folder ${dir}`, e);
  }
  const out = names
    .filter((n) => n.endsWith('.key') && KID_RE.test(n.slice(0, -4)))
    .map((n) => ({ kid: n.slice(0, -4), path: join(dir, n), mtimeMs: statSync(join(dir, n)).mtimeMs }));
  if (out.length > MAX_KEYS) throw configError(`${dir} holds ${out.length} EAR keys (at most ${MAX_KEYS})`);
  return out.sort((a, b) => a.mtimeMs - b.mtimeMs || a.kid.localeCompare(b.kid));
}

/**
 * Makes one EC P-256 key in `dir` (mode 0600, created exclusively) unless it holds one already.
 * Called once by the process that forks the workers, before they read the folder.
 * @example await ensureEarKeyFile('/var/lib/ratls/ear', new Date(Date.now()))
 */
export async function ensureEarKeyFile(dir: string, at: Date): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (keyFiles(dir).length > 0) return;
  const pair = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey));
  const kid = `ear-${at.toISOString().slice(0, 19).replaceAll(':', '').replace('T', '-')}`;
  try {
    writeFileSync(join(dir, `${kid}.key`), x509.PemConverter.encode(pkcs8.buffer, 'PRIVATE KEY'), {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (e) {
    // Another process made it first: its key is as good as ours.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw configError(`cannot write an EAR key in ${dir}`, e);
  }
}

/**
 * The ring of the keys in `dir`: all published, the newest (by modification time) signing.
 * @example const ring = await earKeyRingFromDir('/var/lib/ratls/ear', 3600)
 */
export async function earKeyRingFromDir(dir: string, overlapSec: number): Promise<EarKeyRing> {
  const files = keyFiles(dir);
  if (files.length === 0) throw configError(`the EAR keys folder ${dir} holds no <kid>.key file`);
  const ring = new EarKeyRing(overlapSec);
  for (const f of files) {
    let pem: string;
    try {
      pem = readFileSync(f.path, 'utf8');
    } catch (e) {
      throw configError(`cannot read the EAR key ${f.path}`, e);
    }
    try {
      await ring.adopt(f.kid, pem);
    } catch (e) {
      if (e instanceof RatlsError) throw e;
      throw configError(`EAR key ${f.path} is not a PEM private key`, e);
    }
  }
  return ring;
}
