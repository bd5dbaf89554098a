/**
 * SEV-SNP (tag 0x1a7504) and Nitro (tag 0x1a7570) under the DICE extension, and SNP certificate
 * tables in the endorsements extension: binding with the real go-sev-guest report's layout,
 * framing negatives, and arbitrary bytes under the new tags fail only with typed errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { concatBytes } from '../bytes.js';
import { RatlsError } from '../errors.js';
import { sha256 } from '../hash.js';
import { encodeSnpCertTable, SNP_CERT_GUIDS } from '../snp/cert-table.js';
import { SNP_REPORT_SIZE } from '../snp/layout.js';
import { checkBinding } from './binding.js';
import { encodeDiceClaims } from './dice-claims.js';
import { decodeDiceTaggedEvidence, encodeDiceTaggedEvidence } from './dice-tagged.js';
import type { ExtractedEvidence } from './extract.js';
import { evidenceIdentity } from './identity.js';
import { DICE_TAG_NITRO, DICE_TAG_SEV_SNP } from './oids.js';
import { decodeSnpEndorsements, diceEndorsementsTag, encodeSnpEndorsements } from './snp-endorsements.js';
import { spkiHash } from './spki-hash.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RatlsError, `untyped: ${String(e)}`);
    return e.code;
  }
  return 'no error';
}

const SPKI = new Uint8Array(91).fill(3);

/** A structurally valid (unsigned) v3 report with the given report data. */
function report(reportData: Uint8Array): Uint8Array {
  const r = new Uint8Array(SNP_REPORT_SIZE);
  const dv = new DataView(r.buffer);
  dv.setUint32(0, 3, true);
  dv.setUint32(0x34, 1, true);
  r.set(reportData, 0x50);
  r.set(new Uint8Array(48).fill(0x5a), 0x90);
  r[0x188] = 0x19;
  r[0x189] = 0x01;
  return r;
}

function snpEvidence(claims: Uint8Array, rd: Uint8Array): ExtractedEvidence {
  const value = encodeDiceTaggedEvidence(DICE_TAG_SEV_SNP, report(rd), claims);
  const d = decodeDiceTaggedEvidence(value);
  return {
    format: 'tcg-dice',
    tee: 'sev-snp',
    oid: '2.23.133.5.4.9',
    evidence: d.evidence,
    claims: d.claims,
    diceTag: d.tag,
    raw: value,
  };
}

test('SNP DICE: report_data = SHA-256(claims) ‖ 0^32 binds; another key or report data does not', () => {
  const claims = encodeDiceClaims({ pubkeyHash: { alg: 1, hash: spkiHash(SPKI, 1) } });
  const good = snpEvidence(claims, concatBytes(sha256(claims), new Uint8Array(32)));
  assert.equal(checkBinding(good, SPKI).rule, 'dice-claims');
  assert.equal(evidenceIdentity(good).measurement, '5a'.repeat(48));
  assert.equal(
    codeOf(() => checkBinding(good, new Uint8Array(91).fill(4))),
    'ERR_BINDING_MISMATCH',
  );
  const spliced = snpEvidence(claims, new Uint8Array(64).fill(1));
  assert.equal(
    codeOf(() => checkBinding(spliced, SPKI)),
    'ERR_BINDING_MISMATCH',
  );
});

test('SNP/Nitro DICE framing: tags round-trip; unknown tags refused', () => {
  const claims = encodeDiceClaims({ pubkeyHash: { alg: 1, hash: spkiHash(SPKI, 1) } });
  for (const tag of [DICE_TAG_SEV_SNP, DICE_TAG_NITRO] as const) {
    const v = encodeDiceTaggedEvidence(tag, new Uint8Array([0x84, 1, 2]), claims);
    assert.equal(decodeDiceTaggedEvidence(v).tag, tag);
  }
  const other = encodeDiceTaggedEvidence(DICE_TAG_SEV_SNP, new Uint8Array([1]), claims);
  other[3] = 0x05; // 0x1a7504 → 0x1a7505 (rats-tls SEV, not supported)
  assert.equal(
    codeOf(() => decodeDiceTaggedEvidence(other)),
    'ERR_EVIDENCE_EXTENSION_INVALID',
  );
});

test('SNP endorsements: cert table round trip; malformed values are ERR_DICE_ENDORSEMENTS_INVALID', () => {
  const table = encodeSnpCertTable([
    { guid: SNP_CERT_GUIDS.vcek, data: new Uint8Array([1, 2, 3]) },
    { guid: SNP_CERT_GUIDS.ark, data: new Uint8Array([4]) },
  ]);
  const v = encodeSnpEndorsements(table);
  assert.equal(diceEndorsementsTag(v), DICE_TAG_SEV_SNP);
  assert.deepEqual(decodeSnpEndorsements(v), table);
  assert.equal(
    codeOf(() => decodeSnpEndorsements(concatBytes(v, new Uint8Array([0])))),
    'ERR_DICE_ENDORSEMENTS_INVALID',
  );
  assert.equal(
    codeOf(() => decodeSnpEndorsements(v.subarray(0, 10))),
    'ERR_DICE_ENDORSEMENTS_INVALID',
  );
  assert.equal(diceEndorsementsTag(new Uint8Array([0x01])), undefined);
});

test('property: arbitrary evidence under the SNP and Nitro tags fails binding only with typed errors', () => {
  const claims = encodeDiceClaims({ pubkeyHash: { alg: 1, hash: spkiHash(SPKI, 1) } });
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 1300 }), fc.boolean(), (b, nitro) => {
      const ev: ExtractedEvidence = {
        format: 'tcg-dice',
        tee: nitro ? 'nitro' : 'sev-snp',
        oid: '2.23.133.5.4.9',
        evidence: b,
        claims,
        raw: b,
      };
      codeOf(() => checkBinding(ev, SPKI));
      codeOf(() => evidenceIdentity(ev));
    }),
    { numRuns: 300 },
  );
  assert.equal(
    codeOf(() => decodeSnpEndorsements(new Uint8Array(0))),
    'ERR_DICE_ENDORSEMENTS_INVALID',
  );
});
