import { EvidenceParseError } from '../errors.js';

/** Well-known GUIDs of the SNP extended-report certificate table (GHCB spec rev 2.03 §4.1.8.1). */
export const SNP_CERT_GUIDS = {
  vcek: '63da758d-e664-4564-adc5-f4b93be8accd',
  vlek: 'a8074bc2-a25a-483e-aae6-39c045a0b8a1',
  ask: '4ab7b379-bbac-4fe4-a02f-05aef327c782',
  ark: 'c0b406a4-a803-4952-9743-3fb6014cd0ae',
} as const;

export interface SnpCertTableEntry {
  guid: string;
  /** Which well-known certificate this is, if any. */
  kind?: keyof typeof SNP_CERT_GUIDS;
  data: Uint8Array;
}

export interface SnpCertTable {
  entries: SnpCertTableEntry[];
  vcek?: Uint8Array;
  vlek?: Uint8Array;
  ask?: Uint8Array;
  ark?: Uint8Array;
}

/** configfs-tsm auxblob and GHCB certificate buffers are at most a few pages. */
export const SNP_CERT_TABLE_MAX = 64 * 1024;
const ENTRY = 24;
const MAX_ENTRIES = 64;

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
/** RFC 4122 byte order (as libuuid and go-sev-guest store it). */
function guidBe(b: Uint8Array): string {
  const h = hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
/** UEFI mixed-endian order (first three fields little-endian), accepted too. */
function guidLe(b: Uint8Array): string {
  const sw = new Uint8Array([b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], ...b.subarray(8)] as number[]);
  return guidBe(sw);
}

/**
 * Parses the SNP certificate table (the configfs-tsm `auxblob`, or the extended-guest-request
 * certificate buffer): entries of { GUID (16), offset u32 LE, length u32 LE } relative to the table
 * start, ended by an all-zero entry (GHCB spec §4.1.8.1). Returns every entry and the well-known
 * certificates (VCEK, VLEK, ASK/ASVK, ARK) by name.
 *
 * @example const { vcek, ask, ark } = parseSnpCertTable(auxblob)
 */
export function parseSnpCertTable(aux: Uint8Array): SnpCertTable {
  if (!(aux instanceof Uint8Array) || aux.length < ENTRY)
    throw new EvidenceParseError(
      'ERR_SNP_CERT_TABLE_INVALID',
      'parse',
      `SNP certificate table: ${aux?.length ?? 0} bytes is too short`,
    );
  if (aux.length > SNP_CERT_TABLE_MAX)
    throw new EvidenceParseError(
      'ERR_SNP_CERT_TABLE_INVALID',
      'parse',
      `SNP certificate table: ${aux.length} bytes exceeds ${SNP_CERT_TABLE_MAX}`,
    );
  const dv = new DataView(aux.buffer, aux.byteOffset, aux.byteLength);
  const known = new Map<string, keyof typeof SNP_CERT_GUIDS>(
    Object.entries(SNP_CERT_GUIDS).map(([k, v]) => [v, k as keyof typeof SNP_CERT_GUIDS]),
  );
  const table: SnpCertTable = { entries: [] };
  for (let i = 0; ; i++) {
    const at = i * ENTRY;
    if (i >= MAX_ENTRIES)
      throw new EvidenceParseError(
        'ERR_SNP_CERT_TABLE_INVALID',
        'parse',
        `SNP certificate table: more than ${MAX_ENTRIES} entries`,
      );
    if (at + ENTRY > aux.length)
      throw new EvidenceParseError(
        'ERR_SNP_CERT_TABLE_INVALID',
        'parse',
        'SNP certificate table: no terminating all-zero entry',
      );
    const entry = aux.subarray(at, at + ENTRY);
    if (entry.every((x) => x === 0)) break;
    const g = entry.subarray(0, 16);
    const offset = dv.getUint32(at + 16, true);
    const length = dv.getUint32(at + 20, true);
    if (length === 0 || offset > aux.length || length > aux.length - offset) {
      throw new EvidenceParseError(
        'ERR_SNP_CERT_TABLE_INVALID',
        'parse',
        `SNP certificate table: entry ${i} (offset ${offset}, length ${length}) is outside the ${aux.length}-byte buffer`,
      );
    }
    const be = guidBe(g);
    const le = guidLe(g);
    const kind = known.get(be) ?? known.get(le);
    const guid = known.has(le) && !known.has(be) ? le : be;
    const data = aux.slice(offset, offset + length);
    table.entries.push(kind ? { guid, kind, data } : { guid, data });
    if (kind) {
      if (table[kind])
        throw new EvidenceParseError(
          'ERR_SNP_CERT_TABLE_INVALID',
          'parse',
          `SNP certificate table: duplicate ${kind} entry`,
        );
      table[kind] = data;
    }
  }
  return table;
}

/**
 * Builds a certificate table (RFC 4122 GUID byte order), e.g. for simulated providers and tests.
 * @example encodeSnpCertTable([{ guid: SNP_CERT_GUIDS.vcek, data: vcekDer }])
 */
export function encodeSnpCertTable(entries: { guid: string; data: Uint8Array }[]): Uint8Array {
  const header = (entries.length + 1) * ENTRY;
  const total = header + entries.reduce((n, e) => n + e.data.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let off = header;
  entries.forEach((e, i) => {
    const g = Buffer.from(e.guid.replace(/-/g, ''), 'hex');
    if (g.length !== 16)
      throw new EvidenceParseError(
        'ERR_SNP_CERT_TABLE_INVALID',
        'parse',
        `SNP certificate table: GUID ${e.guid} is not 16 bytes`,
      );
    out.set(g, i * ENTRY);
    dv.setUint32(i * ENTRY + 16, off, true);
    dv.setUint32(i * ENTRY + 20, e.data.length, true);
    out.set(e.data, off);
    off += e.data.length;
  });
  return out;
}
