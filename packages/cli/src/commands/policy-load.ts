/** Loading a policy named on the command line: an invalid file is the operator's input (exit 2). */
import { RatlsError } from '@ratls/evidence';
import { loadPolicyFile, type Policy } from '@ratls/verifier';
import { UsageError } from '../io.js';

/**
 * Loads a policy or throws a UsageError carrying the located message.
 * @example const p = await loadPolicyOrUsage('policy.yaml')
 */
export async function loadPolicyOrUsage(path: string): Promise<Policy> {
  try {
    return await loadPolicyFile(path);
  } catch (e) {
    throw new UsageError(e instanceof RatlsError ? e.code : 'ERR_POLICY_INVALID', (e as Error).message, { cause: e });
  }
}
