/**
 * Step: certificate roles in Intel's DCAP hierarchy. Every certificate under the Intel SGX Root CA
 * chains to it, so "reaches the anchor" says nothing about what a certificate may sign. Intel's
 * QVL fixes each role: the TCB info and QE identity are signed only by the Intel SGX TCB Signing
 * certificate, issued directly by the root (`TCBSigningChain::verify`: STATUS_SGX_TCB_SIGNING_CERT_*),
 * and the PCK chain is leaf ← PCK Platform/Processor CA ← root (`PckCertVerifier`, QVL 4.1.2.4.4;
 * Intel SGX PCK Certificate and CRL Profile §1.2, §1.3). Without these rules a platform's own PCK key
 * could sign TCB info and re-rate its platform.
 *
 * Names are matched exactly, as decoded RDNs in order. A trust anchor selects its profile by its own
 * exact subject: the real Intel SGX Root CA selects Intel's names; the simulator's root
 * (`ratls sim init`, O = SIMULATION_MARKER) selects the simulator's names, which mirror Intel's with
 * "ratls Simulated SGX" for "Intel SGX" and the marker for the organization. Any other anchor has no
 * profile and fails closed: no name is ever loosened to fit it.
 */

import type { ErrorCode } from '@ratls/evidence';
import {
  KU_DIGITAL_SIGNATURE,
  KU_KEY_CERT_SIGN,
  type NameAttribute,
  nameAttributes,
  OID_C,
  OID_CN,
  OID_L,
  OID_O,
  OID_ST,
  type ParsedCertificate,
} from '../pki/certificate.js';
import type { ErrorCtor } from '../pki/chain.js';
import { anchorOf } from '../pki/chain.js';
import { SIMULATION_MARKER, type TrustAnchor } from '../trust.js';
import { soleAttributeIs, subjectIsExactly } from './role-names.js';

/** An exact distinguished name: one attribute per RDN, in order. */
export type ExactDn = readonly (readonly [oid: string, value: string])[];

/** The names of one DCAP hierarchy. */
export interface DcapRoleProfile {
  /** Root CA subject that selects this profile. */
  root: ExactDn;
  /** Subject of the only certificate allowed to sign TCB info and QE identity. */
  tcbSigner: ExactDn;
  /** Subject CN of a PCK leaf. */
  pckLeafCn: string;
  /** Subject CNs of the two PCK CAs. */
  pckCaCn: { platform: string; processor: string };
  simulated: boolean;
}

const place = (cn: string, o: string): ExactDn => [
  [OID_CN, cn],
  [OID_O, o],
  [OID_L, 'Santa Clara'],
  [OID_ST, 'CA'],
  [OID_C, 'US'],
];

/** Intel's names (Intel SGX PCK Certificate and CRL Profile §1.2–1.4; QVL `X509Constants.h`). */
export const INTEL_DCAP_ROLES: DcapRoleProfile = {
  root: place('Intel SGX Root CA', 'Intel Corporation'),
  tcbSigner: place('Intel SGX TCB Signing', 'Intel Corporation'),
  pckLeafCn: 'Intel SGX PCK Certificate',
  pckCaCn: { platform: 'Intel SGX PCK Platform CA', processor: 'Intel SGX PCK Processor CA' },
  simulated: false,
};

/** The simulator's names (packages/sim/src/constants.ts), Intel's with the simulated prefix and marker. */
export const SIMULATED_DCAP_ROLES: DcapRoleProfile = {
  root: place('ratls Simulated SGX Root CA', SIMULATION_MARKER),
  tcbSigner: place('ratls Simulated SGX TCB Signing', SIMULATION_MARKER),
  pckLeafCn: 'ratls Simulated SGX PCK Certificate',
  pckCaCn: { platform: 'ratls Simulated SGX PCK Platform CA', processor: 'ratls Simulated SGX PCK Processor CA' },
  simulated: true,
};

const PROFILES = [INTEL_DCAP_ROLES, SIMULATED_DCAP_ROLES] as const;

export interface RoleContext {
  Err: ErrorCtor;
  step: string;
  /** What the chain is, for messages ("TCB info issuer chain"). */
  what: string;
}

function decoded(cert: ParsedCertificate, c: RoleContext, code: ErrorCode): NameAttribute[][] {
  try {
    return nameAttributes(cert.subjectRaw);
  } catch (e) {
    throw new c.Err(code, c.step, `${c.what}: subject of "${cert.subjectCn}" does not decode`, { cause: e });
  }
}

/** True when `dn` is exactly `want`: same number of RDNs, one attribute each, same type and value. */
export function dnEquals(dn: readonly (readonly NameAttribute[])[], want: ExactDn): boolean {
  return (
    dn.length === want.length &&
    dn.every((rdn, i) => rdn.length === 1 && rdn[0]?.oid === want[i]?.[0] && rdn[0]?.value === want[i]?.[1])
  );
}

const show = (dn: ExactDn): string => dn.map(([oid, v]) => `${oid === OID_CN ? 'CN' : oid}=${v}`).join(', ');

/** The single CN of a subject, or undefined when there is none or more than one. */
function onlyCn(dn: NameAttribute[][]): string | undefined {
  const cns = dn.flat().filter((a) => a.oid === OID_CN);
  return cns.length === 1 ? cns[0]?.value : undefined;
}

const profileMemo = new WeakMap<TrustAnchor, DcapRoleProfile | null>();

/**
 * The role profile of a trust anchor (by its exact subject), or a `code` error when it has none.
 * @example dcapRoleProfile(intelSgxRootCa(), ctx, 'ERR_TCB_SIGNER_ROLE') === INTEL_DCAP_ROLES
 */
export function dcapRoleProfile(anchor: TrustAnchor, c: RoleContext, code: ErrorCode): DcapRoleProfile {
  let p = profileMemo.get(anchor);
  if (p === undefined) {
    const root = anchorOf(anchor).cert;
    const dn = decoded(root, c, code);
    p = PROFILES.find((x) => x.simulated === anchor.simulated && dnEquals(dn, x.root)) ?? null;
    profileMemo.set(anchor, p);
  }
  if (!p) {
    throw new c.Err(
      code,
      c.step,
      `${c.what}: trust anchor "${anchor.name}" is neither the Intel SGX Root CA nor a ratls simulated root, so no DCAP signer role is defined under it`,
    );
  }
  return p;
}

/** basicConstraints absent or cA FALSE (RFC 5280 §4.2.1.9). */
const notCa = (cert: ParsedCertificate): boolean => !cert.isCa && cert.basicConstraints?.ca !== true;
const hasKu = (cert: ParsedCertificate, bit: number): boolean =>
  cert.keyUsage !== undefined && (cert.keyUsage & (1 << bit)) !== 0;

/**
 * TCB signing chain roles (leaf first, anchor last): exactly the signer and the pinned root; the
 * signer's subject is exactly the profile's TCB Signing name; it is not a CA; its keyUsage is present
 * with digitalSignature (Intel's also has nonRepudiation, which is not required). Code: ERR_TCB_SIGNER_ROLE.
 * @example verifyChain(ders, { ...o, checkRoles: (certs, anchor) => checkTcbSignerRoles(certs, anchor, o) })
 */
export function checkTcbSignerRoles(certs: readonly ParsedCertificate[], anchor: TrustAnchor, c: RoleContext): void {
  const code = 'ERR_TCB_SIGNER_ROLE';
  const signer = certs[0] as ParsedCertificate;
  if (certs.length !== 2) {
    throw new c.Err(
      code,
      c.step,
      `${c.what}: ${certs.length} certificates; Intel's TCB signing chain is exactly the TCB Signing certificate and the root`,
    );
  }
  const p = dcapRoleProfile(anchor, c, code);
  // The in-place comparison only ever says "matches"; otherwise the reference decode decides.
  if (!subjectIsExactly(signer.subjectRaw, p.tcbSigner) && !dnEquals(decoded(signer, c, code), p.tcbSigner)) {
    throw new c.Err(
      code,
      c.step,
      `${c.what}: signer "${signer.subjectCn}" is not the TCB Signing certificate (subject must be exactly "${show(p.tcbSigner)}")`,
    );
  }
  if (!notCa(signer)) {
    throw new c.Err(
      code,
      c.step,
      `${c.what}: signer "${signer.subjectCn}" is a CA; the TCB Signing certificate is not`,
    );
  }
  if (!hasKu(signer, KU_DIGITAL_SIGNATURE)) {
    throw new c.Err(
      code,
      c.step,
      `${c.what}: signer "${signer.subjectCn}" has no keyUsage digitalSignature, so it may not sign collateral`,
    );
  }
}

/**
 * The PCK CA role: a CA allowed to sign certificates, pathLenConstraint 0 (it issues leaves only),
 * subject CN exactly the profile's Platform CA or Processor CA. Codes: ERR_PCK_CHAIN_ROLE (CA-ness),
 * ERR_PCK_CA_UNKNOWN (name).
 * @example checkPckCaRole(certs[1], anchor, { Err: AppraisalError, step: 'pck-chain', what: 'PCK chain' })
 */
export function checkPckCaRole(ca: ParsedCertificate, anchor: TrustAnchor, c: RoleContext): void {
  const p = dcapRoleProfile(anchor, c, 'ERR_PCK_CHAIN_ROLE');
  if (!ca.isCa || ca.basicConstraints?.pathLen !== 0 || !hasKu(ca, KU_KEY_CERT_SIGN)) {
    throw new c.Err(
      'ERR_PCK_CHAIN_ROLE',
      c.step,
      `${c.what}: "${ca.subjectCn}" stands where a PCK CA belongs but is not a CA with pathLenConstraint 0 and keyCertSign`,
    );
  }
  if (soleAttributeIs(ca.subjectRaw, OID_CN, [p.pckCaCn.platform, p.pckCaCn.processor])) return;
  const cn = onlyCn(decoded(ca, c, 'ERR_PCK_CHAIN_ROLE'));
  if (cn !== p.pckCaCn.platform && cn !== p.pckCaCn.processor) {
    throw new c.Err(
      'ERR_PCK_CA_UNKNOWN',
      c.step,
      `${c.what}: intermediate "${ca.subjectCn}" is neither "${p.pckCaCn.platform}" nor "${p.pckCaCn.processor}"`,
    );
  }
}

/**
 * PCK chain roles (leaf, PCK CA, root): three certificates (ERR_PCK_CHAIN_LENGTH); the leaf is not
 * a CA and has keyUsage digitalSignature (it signs the QE report) (ERR_PCK_CHAIN_ROLE); the
 * intermediate is a PCK CA (`checkPckCaRole`); the leaf's CN is exactly the profile's PCK Certificate
 * name (ERR_PCK_CERT_INVALID).
 * @example verifyChain(ders, { ...o, checkRoles: (certs, anchor) => checkPckChainRoles(certs, anchor, o) })
 */
export function checkPckChainRoles(certs: readonly ParsedCertificate[], anchor: TrustAnchor, c: RoleContext): void {
  if (certs.length !== 3) {
    throw new c.Err(
      'ERR_PCK_CHAIN_LENGTH',
      c.step,
      `${c.what}: expected leaf, PCK CA and root, got ${certs.length} certificates`,
    );
  }
  const leaf = certs[0] as ParsedCertificate;
  const p = dcapRoleProfile(anchor, c, 'ERR_PCK_CHAIN_ROLE');
  if (!notCa(leaf) || !hasKu(leaf, KU_DIGITAL_SIGNATURE)) {
    throw new c.Err(
      'ERR_PCK_CHAIN_ROLE',
      c.step,
      `${c.what}: leaf "${leaf.subjectCn}" is a CA or lacks keyUsage digitalSignature; a PCK certificate is neither`,
    );
  }
  checkPckCaRole(certs[1] as ParsedCertificate, anchor, c);
  if (
    !soleAttributeIs(leaf.subjectRaw, OID_CN, [p.pckLeafCn]) &&
    onlyCn(decoded(leaf, c, 'ERR_PCK_CHAIN_ROLE')) !== p.pckLeafCn
  ) {
    throw new c.Err(
      'ERR_PCK_CERT_INVALID',
      c.step,
      `${c.what}: leaf "${leaf.subjectCn}" is not a PCK certificate (CN must be exactly "${p.pckLeafCn}")`,
    );
  }
}
