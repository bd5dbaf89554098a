/** File helpers for the simulation folder: atomic writes, private key files mode 0600. */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ProviderError } from '@ratls/evidence';

/** Largest file the simulator reads back (its own state, keys, certificates). */
const MAX_SIM_FILE_BYTES = 1024 * 1024;

export async function writeAtomic(dir: string, name: string, data: string, secret = false): Promise<void> {
  const tmp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, data, { mode: secret ? 0o600 : 0o644 });
  if (secret) await chmod(tmp, 0o600);
  await rename(tmp, join(dir, name));
}

export async function readSimFile(dir: string, name: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(join(dir, name), 'utf8');
  } catch (e) {
    throw new ProviderError(
      'ERR_SIM_STATE',
      'sim',
      `simulation folder ${dir}: cannot read ${name} (run initSimulation)`,
      {
        cause: e,
      },
    );
  }
  if (text.length > MAX_SIM_FILE_BYTES) {
    throw new ProviderError(
      'ERR_SIM_STATE',
      'sim',
      `simulation folder ${dir}: ${name} is larger than ${MAX_SIM_FILE_BYTES} bytes`,
    );
  }
  return text;
}
