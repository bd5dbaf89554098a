/**
 * The package root is the published surface. These tests make every change to it deliberate and
 * keep the proof constructors out of it (security finding 5): nothing reachable from
 * `@ratls/verifier` turns caller-built data into a verified result, and the built `dist/` holds
 * no test kit.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as root from '@ratls/verifier';

const PACKAGES = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

/** Runtime exports of the package root, sorted. Types are checked by `tsc`, not here. */
const EXPECTED_ROOT_EXPORTS = [
  'resolveTrustStore',
  'toTrustAnchors',
  'trustStore',
  'trustStoreFrom',
  // Collateral cache, bundles and early warning (issue 17).
  'BundleCollateralSource',
  'EarlyTcbWatch',
  'HostThrottle',
  'RateLimitedError',
  'RollbackGuard',
  'bundleKdsSource',
  'evaluationNumbers',
  'parseRetryAfter',
  'readBundleManifest',
  'writeBundleManifest',
  'AMD_ARK_SHA256',
  'AMD_KDS_URL',
  'AWS_NITRO_ROOT_G1_SHA256',
  'Agent',
  'AttestationRefusedError',
  'AttestationRejectedError',
  'DEFAULT_HANDSHAKE_TIMEOUT_MS',
  'DEFAULT_MAX_CONCURRENT_HANDSHAKES',
  'ECS_VERSION',
  // issue 17: policy vocabulary (waiver pseudo-name, bit names of TD attributes and SNP guest policy).
  'GRACE_WAIVER',
  'SNP_POLICY_BITS',
  'TD_ATTRIBUTE_BITS',
  'FileCollateralSource',
  'INTEL_SGX_ROOT_CA_SHA256',
  'KdsCollateralSource',
  'MAX_COLLATERAL_JSON_BYTES',
  'MAX_CRL_BYTES',
  'MAX_ISSUER_CHAIN_BYTES',
  'MAX_MESSAGE_CHARS',
  'MAX_POLICY_BYTES',
  'MAX_QE_IDENTITY_BYTES',
  'MAX_TCB_INFO_BYTES',
  'OID_SGX_EXTENSION',
  'POLICY_REJECTED',
  'PccsCollateralSource',
  'PolicyStore',
  'PolicyValidationError',
  'REASON_CODES',
  'SIMULATION_MARKER',
  'SNP_MAX_CRL',
  'TLS_ERRORS',
  'VerifiedChainCache',
  'amdArkAnchors',
  'amdArkDer',
  'amdIntermediateDer',
  'attachAttestation',
  'attestationKeyOf',
  'attestationMiddleware',
  'attestationOf',
  'attestedServerTlsOptions',
  'channelRefusalResponse',
  'auditPolicyReloads',
  'awsNitroRootG1',
  'buildAuditEvent',
  'buildConnectionCloseEvent',
  'buildEarlyTcbWarningEvent',
  'buildHttpRequestEvent',
  'buildPolicyReloadEvent',
  // Decision traces and policy replay (issue 17); evaluateClaims stays internal.
  'buildDecisionTrace',
  'TRACE_VERSION',
  'boundedLines',
  'MAX_REPLAY_LINE_BYTES',
  'parseRecordedAttestation',
  'replayAudit',
  'certificateDer',
  'checkPckRevocation',
  'checkQeIdentityTee',
  'checkQeReportData',
  'checkSnpChipId',
  'checkSnpReportHeader',
  'checkSnpRevocation',
  'checkSnpTcbMatchesCert',
  'checkTcbInfoMatches',
  'checkTdxModule',
  'clientAddressOf',
  'collateralFacts',
  'collateralFromEndorsements',
  'collateralFromJson',
  'collateralFromPcsResponses',
  'collateralToJson',
  'channelVerify',
  'connect',
  'connectAttested',
  'DEFAULT_CHANNEL_TIMEOUT_MS',
  'enclaveDifference',
  'runChannelExchange',
  'convergeStatus',
  'coseSign1ToBeSigned',
  'createAttestedDispatcher',
  'createAuditLog',
  'createHttpsServer',
  'createPeerVerifier',
  'createPeerVerifierCore',
  'createQuoteVerifier',
  'createServer',
  'crlTimes',
  'decisionSummary',
  'decodeIssuerChain',
  'defaultTrustAnchors',
  'evaluatePolicy',
  'extractSignedJson',
  'findTdxModuleIdentity',
  'fmspcHex',
  'formatIssue',
  // Issue 16: "did you mean" for configuration files (the gateway's config errors use them too).
  'closestName',
  'knownKeysAt',
  'unknownKeyMessage',
  'intelSgxRootCa',
  'isVerifiedResult',
  'loadPolicyFile',
  'localAddressOf',
  'matchQeIdentity',
  'matchTcbLevel',
  'mergeTcbStatus',
  'normalizeCrl',
  'parsePckExtensions',
  'parsePolicy',
  'parseQeIdentity',
  'parseTcbInfo',
  'pckCaKind',
  'pckChainPemOf',
  'pemCertificates',
  'resolveAppraiser',
  'toDcapCollateral',
  'trustAnchorFrom',
  'verifyCertificate',
  'verifyCollateral',
  'verifyCrls',
  'verifyNitroChain',
  'verifyNitroDocument',
  'verifyNitroSignature',
  'verifyPckChain',
  'verifyQeIdentity',
  'verifyQeReportSignature',
  'verifyQuote',
  'verifyQuoteSignature',
  'verifyQuoteSync',
  'verifySnpChain',
  'verifySnpCrl',
  'verifySnpReport',
  'verifySnpReportSignature',
  'verifyTcbInfo',
];

const TEST_KIT_NAME = /testkit|test-helpers|test-fixtures|run-cli|test-pcs-server|\.test\./;

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) filesUnder(p, out);
    else out.push(p);
  }
  return out;
}

describe('@ratls/verifier public surface', () => {
  test('the package root exports exactly the expected list (adding one is a deliberate change)', () => {
    assert.deepEqual(Object.keys(root).sort(), [...EXPECTED_ROOT_EXPORTS].sort());
  });

  test('markVerified and appraise are not reachable from the package root', () => {
    assert.equal('markVerified' in root, false);
    assert.equal('appraise' in root, false);
    assert.equal('registerVerifiedPck' in root, false);
    assert.equal('registerVerifiedCollateral' in root, false);
  });

  test('the verifier package exports only its root (no internal or testing subpath)', () => {
    const pkg = JSON.parse(readFileSync(join(PACKAGES, 'verifier', 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(pkg.exports), ['.']);
  });

  test('no test kit is left in any package source tree (they live in the private test-support package)', () => {
    for (const pkg of readdirSync(PACKAGES)) {
      const src = join(PACKAGES, pkg, 'src');
      if (!existsSync(src)) continue;
      const kits = filesUnder(src).filter((f) => /testkit|test-helpers|test-fixtures|run-cli|test-pcs-server/.test(f));
      assert.deepEqual(kits, [], `${pkg}/src holds test kits`);
    }
  });

  test('built dist/ folders hold no test code, and the built verifier root exports no proof constructor', async (t) => {
    const dists = readdirSync(PACKAGES)
      .map((p) => join(PACKAGES, p, 'dist'))
      .filter((d) => existsSync(d));
    if (dists.length === 0) {
      t.skip('no packages/*/dist: run `npm run build` first');
      return;
    }
    for (const d of dists) {
      const bad = filesUnder(d).filter((f) => TEST_KIT_NAME.test(f.slice(d.length)));
      assert.deepEqual(bad, [], `${d} contains test code`);
    }
    const index = join(PACKAGES, 'verifier', 'dist', 'index.js');
    if (!existsSync(index)) return;
    const built = (await import(pathToFileURL(index).href)) as Record<string, unknown>;
    assert.equal('markVerified' in built, false);
    assert.equal('appraise' in built, false);
    assert.deepEqual(Object.keys(built).sort(), [...EXPECTED_ROOT_EXPORTS].sort());
  });
});
