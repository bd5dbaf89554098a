/** Human- and JSON-friendly summaries of parsed (not verified) evidence, for `inspect`. */

import { createHash } from 'node:crypto';
import {
  bytesEqual,
  checkBinding,
  isSgxDebug,
  isTdDebug,
  nodeCertificateFromDer,
  parseNitroDocument,
  parseQuote,
  parseRatlsCertificate,
  parseSnpReport,
  parseX509,
  type Quote,
  RatlsError,
  toHex,
} from '@ratls/evidence';

export type Summary = Record<string, unknown>;

export function quoteSummary(q: Quote): Summary {
  const base: Summary = {
    kind: 'quote',
    tee: q.tee,
    quoteVersion: q.header.version,
    length: q.length,
    trailingBytes: q.trailingBytes,
    certificationDataType: q.signatureData.certification.type,
  };
  if (q.body.kind === 'sgx') {
    const r = q.body.report;
    return {
      ...base,
      debug: isSgxDebug(r),
      measurements: {
        mrEnclave: toHex(r.mrEnclave),
        mrSigner: toHex(r.mrSigner),
        isvProdId: r.isvProdId,
        isvSvn: r.isvSvn,
        attributes: toHex(r.attributes),
        reportData: toHex(r.reportData),
      },
    };
  }
  const r = q.body.report;
  return {
    ...base,
    debug: isTdDebug(r),
    measurements: {
      mrTd: toHex(r.mrTd),
      rtmr0: toHex(r.rtmr[0]),
      rtmr1: toHex(r.rtmr[1]),
      rtmr2: toHex(r.rtmr[2]),
      rtmr3: toHex(r.rtmr[3]),
      mrSeam: toHex(r.mrSeam),
      tdAttributes: toHex(r.tdAttributes),
      teeTcbSvn: toHex(r.teeTcbSvn),
      reportData: toHex(r.reportData),
      ...(r.mrServiceTd ? { mrServiceTd: toHex(r.mrServiceTd) } : {}),
    },
  };
}

function errorText(e: unknown): { code: string; message: string } {
  if (e instanceof RatlsError) return { code: e.code, message: e.message };
  return { code: 'ERR_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

/** Everything `inspect` can say about a certificate without collateral: formats, measurements, binding. */
export function certificateSummary(der: Uint8Array, at: number): Summary {
  // Strict DER first (the one ASN.1 stack), then Node's byte-exact view for the printable names.
  const parsed = parseX509(der);
  const cert = nodeCertificateFromDer(der);
  const { notBefore, notAfter } = parsed;
  const subject = cert.subject.split('\n').join(', ');
  const issuer = cert.issuer.split('\n').join(', ');
  const out: Summary = {
    kind: 'certificate',
    subject,
    issuer,
    selfSigned: bytesEqual(parsed.subjectRaw, parsed.issuerRaw),
    fingerprintSha256: createHash('sha256').update(der).digest('hex'),
    notBefore,
    notAfter,
    validNow: notBefore <= at && at <= notAfter,
  };
  let parts: ReturnType<typeof parseRatlsCertificate>;
  try {
    parts = parseRatlsCertificate(der);
  } catch (e) {
    return { ...out, formats: [], evidence: [], error: errorText(e) };
  }
  const diceQuotes = parts.evidence.filter((e) => e.format === 'tcg-dice').map((e) => e.evidence);
  out.formats = parts.evidence.map((e) => e.format);
  out.evidence = parts.evidence.map((ev) => {
    const item: Summary = { format: ev.format, oid: ev.oid, tee: ev.tee, bytes: ev.evidence.length };
    try {
      if (ev.tee === 'nitro') {
        const doc = parseNitroDocument(ev.evidence);
        item.measurements = {
          moduleId: doc.moduleId,
          pcr0: doc.pcrs.get(0) ? toHex(doc.pcrs.get(0) as Uint8Array) : undefined,
          timestamp: doc.timestamp,
        };
      } else if (ev.tee === 'sev-snp') {
        Object.assign(item, snpSummary(ev.evidence), { kind: undefined });
      } else {
        Object.assign(item, quoteSummary(parseQuote(ev.evidence)), { kind: undefined });
      }
    } catch (e) {
      item.parseError = errorText(e);
    }
    try {
      const b = checkBinding(ev, parts.spkiDer, { diceQuotes });
      item.binding = { ok: true, rule: b.rule };
    } catch (e) {
      item.binding = { ok: false, ...errorText(e) };
    }
    return item;
  });
  if (parts.endorsements) out.endorsementsBytes = parts.endorsements.length;
  return out;
}

export function snpSummary(bytes: Uint8Array): Summary {
  const r = parseSnpReport(bytes);
  return {
    kind: 'sev-snp-report',
    tee: 'sev-snp',
    version: r.version,
    product: r.product,
    signingKey: r.signingKey,
    debug: r.policy.debug,
    measurements: {
      measurement: toHex(r.measurement),
      hostData: toHex(r.hostData),
      idKeyDigest: toHex(r.idKeyDigest),
      reportData: toHex(r.reportData),
      vmpl: r.vmpl,
      reportedTcb: { ...r.reportedTcb, raw: toHex(r.reportedTcb.raw) },
      chipId: toHex(r.chipId),
    },
  };
}

export function nitroSummary(bytes: Uint8Array): Summary {
  const d = parseNitroDocument(bytes);
  const pcrs: Record<string, string> = {};
  for (const [i, v] of d.pcrs) pcrs[`pcr${i}`] = toHex(v);
  return { kind: 'nitro-document', tee: 'nitro', moduleId: d.moduleId, timestamp: d.timestamp, measurements: pcrs };
}
