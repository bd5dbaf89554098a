/** Loading a policy file named on the command line: an invalid file is a usage error (exit 2). */
import { RatlsError } from '@ratls/evidence';
import { loadPolicyFile, type Policy } from '@ratls/verifier';
import { UsageError } from '../io.js';

/**
 * @example const p = await loadPolicyOrUsage('policy.yaml') // throws UsageError with file:line:column
 */
export async function loadPolicyOrUsage(path: string): Promise<Policy> {
  try {
    return await loadPolicyFile(path);
  } catch (e) {
    // An invalid policy is the operator's input, not a peer's: exit 2 with the located message.
    throw new UsageError(e instanceof RatlsError ? e.code : 'ERR_POLICY_INVALID', (e as Error).message);
  }
}
