/**
 * The attester part of a configuration file, one schema and one reader for every process that
 * presents attested credentials: `ratls client` (top-level `provider:` / `simulated:` /
 * `credentials:`), the gateway (its `attester:` block, the same keys) and `ratls attest`. Also
 * opens the quote provider such a configuration names. A simulation is only ever asked for by
 * name, never detected, and whoever opens one must log SIMULATION_WARNING.
 */
import { detectQuoteProvider, NitroNsmProvider, type QuoteProvider } from '@ratls/attester';
import { ConfigError, type ErrorCode } from '@ratls/evidence';
import {
  loadNitroSimulation,
  loadSimulation,
  loadSnpSimulation,
  SimulatedNitroProvider,
  SimulatedQuoteProvider,
  SimulatedSnpProvider,
} from '@ratls/sim';
import { z } from 'zod';

/** The attester whose credentials a process presents. */
export type AttesterConfig =
  | { kind: 'detect' }
  | { kind: 'nitro' }
  | {
      kind: 'simulated';
      dir: string;
      tee: 'sgx' | 'tdx' | 'sev-snp' | 'nitro';
      mrEnclave?: string;
      mrTd?: string;
      debug: boolean;
    };

/** The self-renewing certificate made from that attester's evidence. */
export interface AttestedCredentialsConfig {
  validitySeconds: number;
  renewBeforeSeconds?: number;
  keyType: 'P-256' | 'P-384';
}

export const SIMULATION_WARNING =
  'SIMULATED TEE: these credentials prove nothing about real hardware. For development and tests only.';

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `${bytes} bytes of hex`);

/**
 * The zod fields `provider`, `simulated` and `credentials`, spread into the object that holds
 * them (the client's top level, the gateway's `attester:` block).
 * @example const schema = z.strictObject({ version: z.literal(1), ...attesterFields })
 */
export const attesterFields = {
  /** Which attester signs the credentials: the detected TEE (default) or Nitro's NSM. */
  provider: z.enum(['auto', 'nitro']).optional(),
  /** A simulated TEE instead (development and tests only). */
  simulated: z
    .union([
      z.string().min(1),
      z.strictObject({
        dir: z.string().min(1),
        tee: z.enum(['sgx', 'tdx', 'sev-snp', 'nitro']).optional(),
        mrEnclave: hex(32).optional(),
        mrTd: hex(48).optional(),
        debug: z.boolean().optional(),
      }),
    ])
    .optional(),
  credentials: z
    .strictObject({
      validitySeconds: z
        .number()
        .int()
        .min(2)
        .max(30 * 86_400)
        .optional(),
      renewBeforeSeconds: z.number().positive().optional(),
      keyType: z.enum(['P-256', 'P-384']).optional(),
    })
    .optional(),
};

const fieldsObject = z.object(attesterFields);
export type RawAttesterFields = z.infer<typeof fieldsObject>;

/**
 * Normalizes the attester fields. `base` is the key path of the object holding them (`[]` at the
 * top level, `['attester']` in the gateway), `at` locates errors, `code` names them.
 * @example const { attester, credentials } = normalizeAttester(raw, [], abs, at, 'ERR_CLIENT_CONFIG')
 */
export function normalizeAttester(
  raw: RawAttesterFields,
  base: (string | number)[],
  abs: (p: string) => string,
  at: (path: (string | number)[], msg: string) => string,
  code: ErrorCode,
): { attester: AttesterConfig; credentials: AttestedCredentialsConfig } {
  const fail = (path: string[], msg: string) => new ConfigError(code, 'config', at([...base, ...path], msg));
  let attester: AttesterConfig;
  if (raw.simulated !== undefined) {
    if (raw.provider !== undefined) throw fail(['provider'], 'give either provider or simulated, not both');
    const s = typeof raw.simulated === 'string' ? { dir: raw.simulated } : raw.simulated;
    const tee = 'tee' in s && s.tee ? s.tee : 'sgx';
    if ('mrEnclave' in s && s.mrEnclave && tee !== 'sgx') throw fail(['simulated', 'mrEnclave'], 'SGX only');
    if ('mrTd' in s && s.mrTd && tee !== 'tdx') throw fail(['simulated', 'mrTd'], 'TDX only');
    attester = {
      kind: 'simulated',
      dir: abs(s.dir),
      tee,
      ...('mrEnclave' in s && s.mrEnclave ? { mrEnclave: s.mrEnclave.toLowerCase() } : {}),
      ...('mrTd' in s && s.mrTd ? { mrTd: s.mrTd.toLowerCase() } : {}),
      debug: 'debug' in s ? Boolean(s.debug) : false,
    };
  } else attester = raw.provider === 'nitro' ? { kind: 'nitro' } : { kind: 'detect' };

  const validitySeconds = raw.credentials?.validitySeconds ?? 3600;
  const renewBefore = raw.credentials?.renewBeforeSeconds;
  if (renewBefore !== undefined && renewBefore >= validitySeconds)
    throw fail(['credentials', 'renewBeforeSeconds'], `must be below validitySeconds (${validitySeconds})`);
  return {
    attester,
    credentials: {
      validitySeconds,
      ...(renewBefore !== undefined ? { renewBeforeSeconds: renewBefore } : {}),
      keyType: raw.credentials?.keyType ?? 'P-256',
    },
  };
}

/**
 * The quote provider an attester configuration names.
 * @example const provider = await openProvider({ kind: 'simulated', dir: './sim', tee: 'sgx', debug: false })
 */
export async function openProvider(a: AttesterConfig): Promise<QuoteProvider> {
  switch (a.kind) {
    case 'detect':
      return detectQuoteProvider();
    case 'nitro':
      return new NitroNsmProvider();
    case 'simulated':
      if (a.tee === 'sev-snp') return new SimulatedSnpProvider(await loadSnpSimulation(a.dir), { debug: a.debug });
      if (a.tee === 'nitro')
        return SimulatedNitroProvider.create(await loadNitroSimulation(a.dir), { pcrs: {}, debug: a.debug });
      return new SimulatedQuoteProvider(await loadSimulation(a.dir), {
        tee: a.tee,
        debug: a.debug,
        ...(a.mrEnclave ? { mrEnclave: a.mrEnclave } : {}),
        ...(a.mrTd ? { mrTd: a.mrTd } : {}),
      });
  }
}
