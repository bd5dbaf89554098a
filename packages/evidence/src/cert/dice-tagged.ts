/**
 * DICE tagged evidence (extension 2.23.133.5.4.9): CBOR `tag([evidence, claims-buffer])`, tag
 * 60000 for an Intel quote (SGX or TDX, the quote header says which), 60001 for TDX (CCC "SGX / TDX
 * Evidence Data Formats"), 0x1a7504 for an SEV-SNP report (rats-tls), 0x1a7570 for a Nitro
 * document (ratls). Definite lengths only; nothing may follow the array.
 */
import { concatBytes } from '../bytes.js';
import { EvidenceParseError, RatlsError } from '../errors.js';
import { encodeBstr, encodeHead, MT_ARRAY, MT_TAG, readBstr, readHead } from './cbor-lite.js';
import { type DiceTag, isDiceTag, MAX_CLAIMS_BYTES, MAX_EVIDENCE_EXTENSION_BYTES } from './oids.js';

export interface DiceTaggedEvidence {
  tag: DiceTag;
  evidence: Uint8Array;
  claims: Uint8Array;
}

/**
 * Wraps a quote and its claims buffer for the 2.23.133.5.4.9 extension value.
 * @example encodeDiceTaggedEvidence(60000, quote, encodeDiceClaims({ pubkeyHash: { alg: 1, hash } }))
 */
export function encodeDiceTaggedEvidence(tag: DiceTag, evidence: Uint8Array, claims: Uint8Array): Uint8Array {
  if (!isDiceTag(tag)) {
    throw new EvidenceParseError(
      'ERR_EVIDENCE_EXTENSION_INVALID',
      'encode',
      `DICE tag ${String(tag)} is not 60000, 60001, 0x1a7504 (SEV-SNP) or 0x1a7570 (Nitro)`,
    );
  }
  const out = concatBytes(encodeHead(MT_TAG, tag), encodeHead(MT_ARRAY, 2), encodeBstr(evidence), encodeBstr(claims));
  if (out.length > MAX_EVIDENCE_EXTENSION_BYTES) {
    throw new EvidenceParseError(
      'ERR_CERT_TOO_LARGE',
      'encode',
      `DICE evidence of ${out.length} bytes exceeds ${MAX_EVIDENCE_EXTENSION_BYTES}`,
    );
  }
  return out;
}

/**
 * Parses a 2.23.133.5.4.9 extension value. Claims are returned as bytes (their hash is what the
 * quote commits to); parse them with `decodeDiceClaims`.
 * @example const { tag, evidence, claims } = decodeDiceTaggedEvidence(extValue)
 */
export function decodeDiceTaggedEvidence(bytes: Uint8Array): DiceTaggedEvidence {
  if (bytes.length > MAX_EVIDENCE_EXTENSION_BYTES) {
    throw new EvidenceParseError(
      'ERR_CERT_TOO_LARGE',
      'extract',
      `DICE tagged evidence of ${bytes.length} bytes exceeds ${MAX_EVIDENCE_EXTENSION_BYTES}`,
    );
  }
  try {
    const what = 'DICE tagged evidence';
    const t = readHead(bytes, 0, what);
    if (t.major !== MT_TAG)
      throw new EvidenceParseError(
        'ERR_EVIDENCE_EXTENSION_INVALID',
        'extract',
        `DICE tagged evidence (2.23.133.5.4.9): not a CBOR tag`,
      );
    if (!isDiceTag(t.arg))
      throw new EvidenceParseError(
        'ERR_EVIDENCE_EXTENSION_INVALID',
        'extract',
        `DICE tagged evidence (2.23.133.5.4.9): unsupported CBOR tag ${t.arg} (expected 60000, 60001, 0x1a7504 or 0x1a7570)`,
      );
    const arr = readHead(bytes, t.next, what);
    if (arr.major !== MT_ARRAY || arr.arg !== 2)
      throw new EvidenceParseError(
        'ERR_EVIDENCE_EXTENSION_INVALID',
        'extract',
        `DICE tagged evidence (2.23.133.5.4.9): tag content is not a 2-element array [evidence, claims]`,
      );
    const ev = readBstr(bytes, arr.next, what);
    const cl = readBstr(bytes, ev.next, what);
    if (cl.next !== bytes.length)
      throw new EvidenceParseError(
        'ERR_EVIDENCE_EXTENSION_INVALID',
        'extract',
        `DICE tagged evidence (2.23.133.5.4.9): ${bytes.length - cl.next} trailing bytes after the array`,
      );
    if (ev.value.length === 0)
      throw new EvidenceParseError(
        'ERR_EVIDENCE_EXTENSION_INVALID',
        'extract',
        `DICE tagged evidence (2.23.133.5.4.9): empty evidence`,
      );
    if (cl.value.length > MAX_CLAIMS_BYTES)
      throw new EvidenceParseError(
        'ERR_EVIDENCE_EXTENSION_INVALID',
        'extract',
        `DICE tagged evidence (2.23.133.5.4.9): claims buffer of ${cl.value.length} bytes exceeds ${MAX_CLAIMS_BYTES}`,
      );
    return { tag: t.arg, evidence: ev.value, claims: cl.value };
  } catch (e) {
    if (e instanceof RatlsError && e.code !== 'ERR_CBOR_INVALID') throw e;
    throw new EvidenceParseError(
      'ERR_EVIDENCE_EXTENSION_INVALID',
      'extract',
      `DICE tagged evidence (2.23.133.5.4.9): ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}
