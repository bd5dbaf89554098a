/**
 * Fuzz targets: every parser that reads peer- or operator-supplied bytes, each with arbitraries
 * of three kinds: arbitrary input, structure-aware input (DER-ish, CBOR-ish, YAML-ish, JSON), and
 * mutated real inputs from the vectors. The property is the same for all: the parser returns, or
 * throws a RatlsError with an ERR_ code; nothing else, and quickly.
 */
import {
  DICE_TAG_INTEL_QUOTE,
  DICE_TAG_TDX,
  decodeDiceClaims,
  decodeDiceTaggedEvidence,
  extractEvidence,
  parseNitroDocument,
  parseQuote,
  parseQuoteText,
  parseRatlsCertificate,
  parseSnpCertTable,
  parseSnpReport,
} from '@ratls/evidence';
import { dcapCases, readVector, readVectorText } from '@ratls/test-support/vectors';
import {
  certificateDer,
  collateralFromJson,
  collateralFromPcsResponses,
  extractSignedJson,
  parsePolicy,
} from '@ratls/verifier';
import fc from 'fast-check';
import { parseGatewayConfig } from 'ratls';
import { certLayout, OID_DICE_TAGGED_HEX, tlv } from './der.js';

export interface FuzzTarget {
  name: string;
  /** `weight` scales the run count of one arbitrary (default 1). */
  arbs: { label: string; arb: fc.Arbitrary<unknown>; weight?: number }[];
  run: (input: unknown) => unknown;
}

const hex = (n: number, fill = 'ab') => fill.repeat(n);

// ---------- seeds from the vectors ----------

function uniq(list: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  return list.filter((b) => {
    const k = Buffer.from(b).toString('base64');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export interface Seeds {
  quotes: Uint8Array[];
  certs: Uint8Array[];
  diceValues: Uint8Array[];
  claims: Uint8Array[];
  nitro: Uint8Array[];
  snpReports: Uint8Array[];
  collaterals: string[];
  pcsBodies: string[];
  crls: Uint8Array[];
  policies: string[];
  gatewayConfigs: string[];
}

export function loadSeeds(): Seeds {
  const cases = dcapCases();
  const quotes = uniq(cases.map((c) => readVector(c.quote)));
  const collaterals = [...new Set(cases.map((c) => c.collateral))].map((p) => readVectorText(p));
  const certs = [
    certificateDer(readVectorText('ra-tls/ccc-interoperable-ra-tls/gramine-cert.pem')),
    certificateDer(readVectorText('ra-tls/ccc-interoperable-ra-tls/rats-tls-cert.pem')),
    certificateDer(readVectorText('ra-tls/ccc-interoperable-ra-tls/intel-sgxsdk-cert.pem')),
    readVector('ra-tls/legacy-sgx-ra-tls-preproduction/ecdsa-ratls.der'),
    readVector('nitro/evervault/test-data/beta/non-debug-cert-containing-attestation-document-18-1-23-der.crt'),
    readVector('nitro/evervault/test-data/valid-certificate.der'),
  ];
  const diceValues: Uint8Array[] = [];
  const claims: Uint8Array[] = [];
  for (const der of certs.slice(0, 3)) {
    const e = certLayout(der).extensions.find((x) => x.oidHex === OID_DICE_TAGGED_HEX);
    if (e) diceValues.push(der.slice(e.value.contentStart, e.value.end));
    for (const ev of extractEvidence(der)) if (ev.claims) claims.push(ev.claims);
  }
  const nitro = [
    readVector('nitro/evervault/test-data/beta/valid-attestation-doc-bytes'),
    readVector('nitro/evervault/test-data/beta/debug-mode-attestation-doc-bytes'),
    new Uint8Array(
      Buffer.from(readVectorText('nitro/evervault/test-data/valid-attestation-doc-base64').trim(), 'base64'),
    ),
    new Uint8Array(
      Buffer.from(
        readVectorText('nitro/base-nitro-validator/hinted_real_attestation_repaired.DERIVED.b64').trim(),
        'base64',
      ),
    ),
  ];
  const snpReports = [
    readVector('sev-snp/google-go-sev-guest/attestation.bin'),
    readVector('sev-snp/trustee/test-report.bin'),
    readVector('sev-snp/trustee/test-vlek-report.bin'),
    new Uint8Array(Buffer.from(readVectorText('sev-snp/virtee-sev/report_milan.hex').trim(), 'hex')),
  ];
  const pcsBodies: string[] = [];
  for (const text of collaterals) {
    const c = JSON.parse(text) as Record<string, string>;
    pcsBodies.push(`{"tcbInfo":${c.tcb_info},"signature":"${c.tcb_info_signature}"}`);
    pcsBodies.push(`{"enclaveIdentity":${c.qe_identity},"signature":"${c.qe_identity_signature}"}`);
  }
  const crls = collaterals.flatMap((text) => {
    const c = JSON.parse(text) as Record<string, string>;
    return [c.pck_crl, c.root_ca_crl].map((h) => new Uint8Array(Buffer.from(h as string, 'hex')));
  });
  const policies = [
    `version: 1
defaults:
  tcbStatus: [UpToDate, SWHardeningNeeded]
  advisories: { deny: [INTEL-SA-00828] }
  debug: false
identities:
  - name: gramine
    sgx: { mrEnclave: [ "0866e7ca11b9f4efe4bf39b2607f4e1299f111920d96d95719080f01b62b7585" ] }
  - name: family
    sgx: { mrSigner: "adc53501f21ced9b998e37a7a18e061c63e00315045fa57a49c18ef0a30d02ca", isvProdId: 0, minIsvSvn: 1 }
  - name: td
    tdx: { mrTd: "${hex(48, '91')}", rtmr0: "${hex(48, '00')}" }
    tcbStatus: [UpToDate, OutOfDate]
`,
    `version: 1
identities:
  - name: vm
    snp: { measurement: "${hex(48)}", minTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 } }
  - name: enclave
    nitro:
      pcr0: "${hex(48, '0f')}"
    debug: true
`,
  ];
  const gatewayConfigs = [
    `version: 1
trust:
  anchors: [./sim/root.pem]
  collateral: ./sim/collateral.json
policy: ./policy.yaml
admin: 127.0.0.1:9400
listeners:
  - name: web
    listen: 127.0.0.1:9443
    tls: { cert: ./tls.crt, key: ./tls.key }
    forward: { http: http://127.0.0.1:9080 }
  - name: raw
    listen: 127.0.0.1:9444
    tls: { cert: ./tls.crt, key: ./tls.key }
    forward: { tcp: 127.0.0.1:9081, proxyProtocol: true }
`,
  ];
  return {
    quotes,
    certs,
    diceValues,
    claims,
    nitro,
    snpReports,
    collaterals,
    pcsBodies,
    crls,
    policies,
    gatewayConfigs,
  };
}

// ---------- generic arbitraries ----------

/** A seed with a few bytes overwritten, maybe truncated, maybe extended. */
export function mutatedBytes(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      i: fc.nat(seeds.length - 1),
      edits: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 }),
      cut: fc.option(fc.nat(), { freq: 3 }),
      extra: fc.option(fc.uint8Array({ maxLength: 64 }), { freq: 5 }),
    })
    .map(({ i, edits, cut, extra }) => {
      const seed = seeds[i] as Uint8Array;
      let b = seed.slice();
      for (const [p, v] of edits) if (b.length > 0) b[p % b.length] = v;
      if (cut !== null) b = b.slice(0, cut % (b.length + 1));
      if (extra) {
        const out = new Uint8Array(b.length + extra.length);
        out.set(b);
        out.set(extra, b.length);
        b = out;
      }
      return b;
    });
}

/** A seed text with characters replaced, deleted or inserted, maybe truncated. */
export function mutatedText(seeds: string[], alphabet?: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const ch = alphabet ?? fc.string({ minLength: 1, maxLength: 3, unit: 'binary' });
  return fc
    .record({
      i: fc.nat(seeds.length - 1),
      edits: fc.array(fc.tuple(fc.nat(), fc.constantFrom('set', 'del', 'ins'), ch), { minLength: 1, maxLength: 6 }),
      cut: fc.option(fc.nat(), { freq: 4 }),
    })
    .map(({ i, edits, cut }) => {
      let s = seeds[i] as string;
      for (const [p, op, c] of edits) {
        const k = s.length === 0 ? 0 : p % s.length;
        if (op === 'set') s = s.slice(0, k) + c + s.slice(k + 1);
        else if (op === 'del') s = s.slice(0, k) + s.slice(k + 1);
        else s = s.slice(0, k) + c + s.slice(k);
      }
      return cut === null ? s : s.slice(0, cut % (s.length + 1));
    });
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max });

/** Random TLV trees (DER-ish), with some lengths deliberately wrong. */
export const derIsh: fc.Arbitrary<Uint8Array> = fc.letrec<{ node: Uint8Array }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .tuple(fc.constantFrom(0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x17, 0x18, 0x01, 0x80, 0x82), bytes(40))
      .map(([t, c]) => tlv(t, c)),
    fc
      .tuple(fc.constantFrom(0x30, 0x31, 0xa0, 0xa3, 0xa1), fc.array(tie('node'), { maxLength: 5 }))
      .map(([t, kids]) => tlv(t, Buffer.concat(kids))),
    fc.tuple(tie('node'), fc.nat(255), fc.nat()).map(([n, v, p]) => {
      // A wrong length or tag byte somewhere.
      const b = n.slice();
      if (b.length > 0) b[p % Math.min(b.length, 4)] = v;
      return b;
    }),
  ),
})).node;

type Cbor =
  | { k: 'u'; v: number }
  | { k: 'n'; v: number }
  | { k: 'b'; v: Uint8Array }
  | { k: 's'; v: string }
  | { k: 'a'; v: Cbor[] }
  | { k: 'm'; v: [Cbor, Cbor][] }
  | { k: 't'; tag: number; v: Cbor }
  | { k: 'x'; v: number };

function head(major: number, n: number): Uint8Array {
  if (n < 24) return Uint8Array.of((major << 5) | n);
  if (n < 0x100) return Uint8Array.of((major << 5) | 24, n);
  if (n < 0x10000) return Uint8Array.of((major << 5) | 25, n >> 8, n & 0xff);
  return Uint8Array.of((major << 5) | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function cborEncode(c: Cbor): Uint8Array {
  switch (c.k) {
    case 'u':
      return head(0, c.v);
    case 'n':
      return head(1, c.v);
    case 'b':
      return Buffer.concat([head(2, c.v.length), c.v]);
    case 's': {
      const t = Buffer.from(c.v, 'utf8');
      return Buffer.concat([head(3, t.length), t]);
    }
    case 'a':
      return Buffer.concat([head(4, c.v.length), ...c.v.map(cborEncode)]);
    case 'm':
      return Buffer.concat([head(5, c.v.length), ...c.v.flatMap(([k, v]) => [cborEncode(k), cborEncode(v)])]);
    case 't':
      return Buffer.concat([head(6, c.tag), cborEncode(c.v)]);
    case 'x':
      return Uint8Array.of(c.v);
  }
}

/** Random CBOR items biased toward the DICE shapes (tags 60000/60001, "pubkey-hash", "nonce"). */
export const cborIsh: fc.Arbitrary<Uint8Array> = fc
  .letrec<{ item: Cbor }>((tie) => ({
    item: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.nat().map((v): Cbor => ({ k: 'u', v })),
      fc.nat().map((v): Cbor => ({ k: 'n', v })),
      bytes(64).map((v): Cbor => ({ k: 'b', v })),
      fc.constantFrom('pubkey-hash', 'nonce', 'key_0', '', '\u0000').map((v): Cbor => ({ k: 's', v })),
      fc.array(tie('item'), { maxLength: 4 }).map((v): Cbor => ({ k: 'a', v })),
      fc.array(fc.tuple(tie('item'), tie('item')), { maxLength: 3 }).map((v): Cbor => ({ k: 'm', v })),
      fc
        .tuple(fc.constantFrom(DICE_TAG_INTEL_QUOTE, DICE_TAG_TDX, 24, 55799, 0), tie('item'))
        .map(([tag, v]): Cbor => ({ k: 't', tag, v })),
      fc.nat(255).map((v): Cbor => ({ k: 'x', v })),
    ),
  }))
  .item.map(cborEncode);

const yamlKeys = [
  'version',
  'defaults',
  'identities',
  'name',
  'sgx',
  'tdx',
  'snp',
  'nitro',
  'mrEnclave',
  'mrSigner',
  'isvProdId',
  'minIsvSvn',
  'mrTd',
  'rtmr0',
  'tcbStatus',
  'advisories',
  'deny',
  'allow',
  'debug',
  'measurement',
  'pcr0',
  'minTcb',
  'listeners',
  'listen',
  'tls',
  'cert',
  'key',
  'forward',
  'http',
  'tcp',
  'trust',
  'anchors',
  'collateral',
  'policy',
  '__proto__',
  'constructor',
  '<<',
  'x',
];
const yamlScalars = fc.oneof(
  fc.constantFrom('1', '0', '-1', '1e999', 'true', 'false', 'null', '~', '""', "''", 'UpToDate', '127.0.0.1:1', '.nan'),
  fc.integer({ min: 0, max: 96 }).map((n) => `"${'a'.repeat(n)}"`),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('&a [x]', '*a', '!!binary AAAA', '!tag x', '{', '[', '|', '>', '- ', '? ', '%YAML 1.2', '---', '...'),
);

/** YAML-ish text from the policy and gateway vocabularies, with anchors, flows and junk. */
export const yamlIsh: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.nat(6), fc.constantFrom(...yamlKeys), fc.boolean(), fc.option(yamlScalars, { freq: 4 })), {
    maxLength: 30,
  })
  .map((lines) =>
    lines
      .map(([indent, k, dash, v]) => `${'  '.repeat(indent)}${dash ? '- ' : ''}${k}:${v === null ? '' : ` ${v}`}`)
      .join('\n'),
  );

/** Deeply nested flow collections and alias chains: the classic YAML resource attacks. */
export const yamlBombs: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 1, max: 5000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 1, max: 5000 }).map((n) => `${'{a: '.repeat(n)}1${'}'.repeat(n)}`),
  fc.integer({ min: 1, max: 12 }).map((n) => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= n; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    return `version: 1\n${lines.join('\n')}\nidentities: *a${n}\n`;
  }),
);

/** SNP certificate tables: GUID ‖ offset ‖ length entries, then a zero entry, then data. */
const snpTable: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.array(
      fc.tuple(
        fc.oneof(
          fc.constant('63da758d-e664-4564-adc5-f4b93be8accd'),
          fc.constant('4ab7b379-bbac-4fe4-a02f-05aef327c782'),
          fc.constant('c0b406a4-a803-4952-9743-3fb6014cd0ae'),
          fc.uuid(),
        ),
        fc.nat(4096),
        fc.nat(4096),
      ),
      { maxLength: 5 },
    ),
    bytes(512),
    fc.boolean(),
  )
  .map(([entries, data, terminate]) => {
    const parts: Buffer[] = [];
    for (const [g, off, len] of entries) {
      const e = Buffer.alloc(24);
      Buffer.from(g.replace(/-/g, ''), 'hex').copy(e, 0);
      e.writeUInt32LE(off, 16);
      e.writeUInt32LE(len, 20);
      parts.push(e);
    }
    if (terminate) parts.push(Buffer.alloc(24));
    return new Uint8Array(Buffer.concat([...parts, data]));
  });

/** Every target. `s` holds the seeds; the gateway parser is included (packages/cli). */
export function fuzzTargets(s: Seeds): FuzzTarget[] {
  const asBytes = (x: unknown) => x as Uint8Array;
  const asText = (x: unknown) => x as string;
  const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
  return [
    {
      name: 'parseQuote',
      arbs: [
        { label: 'arbitrary bytes', arb: bytes(2048) },
        { label: 'mutated real quotes', arb: mutatedBytes(s.quotes) },
        {
          label: 'real header + random tail',
          arb: fc
            .tuple(fc.nat(s.quotes.length - 1), fc.nat(700), bytes(2048))
            .map(([i, n, tail]) => new Uint8Array(Buffer.concat([(s.quotes[i] as Uint8Array).subarray(0, n), tail]))),
        },
      ],
      run: (x) => parseQuote(asBytes(x)),
    },
    {
      name: 'parseQuoteText',
      arbs: [
        { label: 'arbitrary text', arb: fc.string({ maxLength: 512, unit: 'binary' }) },
        { label: 'mutated hex of real quotes', arb: mutatedText(s.quotes.slice(0, 4).map(hexOf)) },
        {
          label: 'hex/base64 alphabet',
          arb: fc.string({ maxLength: 2048, unit: fc.constantFrom(...'0123456789abcdefABCDEF0x \n+/=') }),
        },
      ],
      run: (x) => parseQuoteText(asText(x)),
    },
    {
      name: 'parseRatlsCertificate',
      arbs: [
        { label: 'arbitrary bytes', arb: bytes(1024) },
        { label: 'DER-ish trees', arb: derIsh },
        { label: 'mutated real certificates', arb: mutatedBytes(s.certs) },
      ],
      run: (x) => parseRatlsCertificate(asBytes(x)),
    },
    {
      name: 'extractEvidence',
      arbs: [
        { label: 'DER-ish trees', arb: derIsh },
        { label: 'mutated real certificates', arb: mutatedBytes(s.certs) },
      ],
      run: (x) => extractEvidence(asBytes(x)),
    },
    {
      name: 'decodeDiceTaggedEvidence',
      arbs: [
        { label: 'arbitrary bytes', arb: bytes(512) },
        { label: 'CBOR-ish items', arb: cborIsh },
        { label: 'mutated real extensions', arb: mutatedBytes(s.diceValues) },
      ],
      run: (x) => decodeDiceTaggedEvidence(asBytes(x)),
    },
    {
      name: 'decodeDiceClaims',
      arbs: [
        { label: 'arbitrary bytes', arb: bytes(256) },
        { label: 'CBOR-ish items', arb: cborIsh },
        { label: 'mutated real claims', arb: mutatedBytes(s.claims) },
      ],
      run: (x) => decodeDiceClaims(asBytes(x)),
    },
    {
      name: 'parseNitroDocument',
      arbs: [
        { label: 'arbitrary bytes', arb: bytes(1024) },
        { label: 'CBOR-ish items', arb: cborIsh },
        { label: 'mutated real documents', arb: mutatedBytes(s.nitro) },
      ],
      run: (x) => parseNitroDocument(asBytes(x)),
    },
    {
      name: 'parseSnpReport',
      arbs: [
        { label: 'arbitrary bytes', arb: bytes(1400) },
        { label: 'mutated real reports', arb: mutatedBytes(s.snpReports) },
      ],
      run: (x) => parseSnpReport(asBytes(x)),
    },
    {
      name: 'parseSnpCertTable',
      arbs: [
        { label: 'arbitrary bytes', arb: bytes(512) },
        { label: 'structured tables', arb: snpTable },
      ],
      run: (x) => parseSnpCertTable(asBytes(x)),
    },
    {
      name: 'collateralFromJson',
      arbs: [
        { label: 'arbitrary JSON', arb: fc.json({ maxDepth: 4 }) },
        { label: 'mutated real collateral', arb: mutatedText(s.collaterals) },
        {
          label: 'real collateral, one field replaced',
          arb: fc.tuple(fc.nat(s.collaterals.length - 1), fc.nat(8), fc.jsonValue({ maxDepth: 2 })).map(([i, f, v]) => {
            const o = JSON.parse(s.collaterals[i] as string) as Record<string, unknown>;
            o[Object.keys(o)[f] as string] = v;
            return JSON.stringify(o);
          }),
        },
      ],
      run: (x) => collateralFromJson(asText(x)),
    },
    {
      name: 'collateralFromPcsResponses',
      arbs: [
        {
          label: 'mutated PCS responses',
          arb: fc
            .tuple(fc.nat(s.collaterals.length - 1), fc.nat(3), mutatedText(s.pcsBodies), mutatedBytes(s.crls))
            .map(([i, which, body, crl]) => {
              const c = JSON.parse(s.collaterals[i] as string) as Record<string, string>;
              // One of the four inputs mutated, the others real and matching.
              return {
                tcbInfoBody: which === 0 ? body : (s.pcsBodies[2 * i] as string),
                tcbInfoIssuerChain: c.tcb_info_issuer_chain,
                qeIdentityBody: which === 1 ? body : (s.pcsBodies[2 * i + 1] as string),
                qeIdentityIssuerChain: c.qe_identity_issuer_chain,
                pckCrl: which === 2 ? crl : new Uint8Array(Buffer.from(c.pck_crl as string, 'hex')),
                pckCrlIssuerChain: c.pck_crl_issuer_chain,
                rootCaCrl: which === 3 ? crl : new Uint8Array(Buffer.from(c.root_ca_crl as string, 'hex')),
              };
            }),
        },
      ],
      run: (x) => collateralFromPcsResponses(x as Parameters<typeof collateralFromPcsResponses>[0]),
    },
    {
      name: 'extractSignedJson',
      arbs: [
        { label: 'arbitrary text', arb: fc.string({ maxLength: 300, unit: 'binary' }) },
        { label: 'arbitrary JSON', arb: fc.json({ maxDepth: 4 }) },
        { label: 'mutated real PCS bodies', arb: mutatedText(s.pcsBodies) },
      ],
      // The member the body names decides which key is asked for, so real bodies can succeed.
      run: (x) => {
        const t = asText(x);
        return extractSignedJson(t, t.includes('"enclaveIdentity"') ? 'enclaveIdentity' : 'tcbInfo');
      },
    },
    {
      name: 'parsePolicy',
      arbs: [
        { label: 'arbitrary text', arb: fc.string({ maxLength: 300, unit: 'binary' }) },
        { label: 'YAML-ish', arb: yamlIsh },
        // Each bomb costs up to a few hundred ms by design; a few hundred of them make the point.
        { label: 'YAML bombs', arb: yamlBombs, weight: 0.02 },
        { label: 'mutated real policies', arb: mutatedText(s.policies) },
      ],
      run: (x) => parsePolicy(asText(x)),
    },
    {
      name: 'parseGatewayConfig',
      arbs: [
        { label: 'arbitrary text', arb: fc.string({ maxLength: 300, unit: 'binary' }) },
        { label: 'YAML-ish', arb: yamlIsh },
        // Each bomb costs up to a few hundred ms by design; a few hundred of them make the point.
        { label: 'YAML bombs', arb: yamlBombs, weight: 0.02 },
        { label: 'mutated real configs', arb: mutatedText(s.gatewayConfigs) },
      ],
      run: (x) => parseGatewayConfig(asText(x), '/etc/ratls/gateway.yaml'),
    },
  ];
}
