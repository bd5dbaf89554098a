import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { encode, Tag } from 'cbor2';
import fc from 'fast-check';
import { RatlsError } from '../errors.js';
import { parseNitroDocument } from './parse.js';
import { nitroDocumentFromText } from './text.js';

function payload(over: Record<string, unknown> = {}): Map<string, unknown> {
  const m = new Map<string, unknown>([
    ['module_id', 'i-0-enc0'],
    ['digest', 'SHA384'],
    ['timestamp', 1700000000000],
    ['pcrs', new Map([[0, new Uint8Array(48)]])],
    ['certificate', new Uint8Array(10)],
    ['cabundle', [new Uint8Array(5)]],
    ['public_key', null],
    ['user_data', new Uint8Array([1])],
    ['nonce', null],
  ]);
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) m.delete(k);
    else m.set(k, v);
  }
  return m;
}
const PROT = encode(new Map([[1, -35]]));
function cose(p: Map<string, unknown> | Uint8Array, opts: { prot?: Uint8Array; sig?: Uint8Array; tag?: number } = {}) {
  const arr = [opts.prot ?? PROT, new Map(), p instanceof Uint8Array ? p : encode(p), opts.sig ?? new Uint8Array(96)];
  return encode(opts.tag === undefined ? arr : new Tag(opts.tag, arr));
}
function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RatlsError, `not a RatlsError: ${String(e)}`);
    return e.code;
  }
  return 'no error';
}

test('nitro: evervault beta document parses', { skip: SKIP_NO_VECTORS }, () => {
  const d = parseNitroDocument(readVector('nitro/evervault/test-data/beta/valid-attestation-doc-bytes'));
  assert.equal(d.moduleId, 'i-020b6af9246d90e92-enc0183d09086c24190');
  assert.equal(d.timestamp, 1665651482136);
  assert.equal(d.tagged, false);
  assert.equal(d.cabundle.length, 4);
  assert.equal(d.nonce?.length, 256);
  assert.equal(
    Buffer.from(d.pcrs.get(0) as Uint8Array)
      .toString('hex')
      .slice(0, 8),
    'f4d48b81',
  );
  assert.equal(d.signature.length, 96);
});

test('nitro: debug document and GA base64 document parse', { skip: SKIP_NO_VECTORS }, () => {
  const dbg = parseNitroDocument(readVector('nitro/evervault/test-data/beta/debug-mode-attestation-doc-bytes'));
  assert.equal(Buffer.from(dbg.userData as Uint8Array).toString(), 'hello, world!');
  assert.equal(Buffer.from(dbg.publicKey as Uint8Array).toString(), 'my super secret key');
  const ga = parseNitroDocument(
    nitroDocumentFromText(readVectorText('nitro/evervault/test-data/valid-attestation-doc-base64')),
  );
  assert.equal(ga.timestamp, 1695049410860);
});

test('nitro: base verbatim base64 fails to decode with a typed error; the repair parses', {
  skip: SKIP_NO_VECTORS,
}, () => {
  const bad = nitroDocumentFromText(readVectorText('nitro/base-nitro-validator/hinted_real_attestation_verbatim.b64'));
  assert.equal(
    code(() => parseNitroDocument(bad)),
    'ERR_NITRO_CBOR_INVALID',
  );
  const good = parseNitroDocument(
    nitroDocumentFromText(readVectorText('nitro/base-nitro-validator/hinted_real_attestation_repaired.DERIVED.b64')),
  );
  assert.equal(good.moduleId, 'i-0368fa67e156d6d23-enc019b8596b1a9dad6');
  assert.equal(good.timestamp, 1767472867402);
});

test('nitro: tag 18 accepted, other tags refused', () => {
  assert.equal(parseNitroDocument(cose(payload(), { tag: 18 })).tagged, true);
  assert.equal(
    code(() => parseNitroDocument(cose(payload(), { tag: 98 }))),
    'ERR_NITRO_COSE_INVALID',
  );
});

test('nitro: COSE structure checks', () => {
  assert.equal(
    code(() => parseNitroDocument(new Uint8Array(0))),
    'ERR_NITRO_DOC_SIZE',
  );
  assert.equal(
    code(() => parseNitroDocument(new Uint8Array(16 * 1024 + 1))),
    'ERR_NITRO_DOC_SIZE',
  );
  assert.equal(
    code(() => parseNitroDocument(encode([1, 2, 3]))),
    'ERR_NITRO_COSE_INVALID',
  );
  assert.equal(
    code(() => parseNitroDocument(encode([PROT, new Map(), encode(payload())]))),
    'ERR_NITRO_COSE_INVALID',
  );
  assert.equal(
    code(() => parseNitroDocument(encode(['x', new Map(), encode(payload()), new Uint8Array(96)]))),
    'ERR_NITRO_COSE_INVALID',
  );
  assert.equal(
    code(() => parseNitroDocument(encode([PROT, 5, encode(payload()), new Uint8Array(96)]))),
    'ERR_NITRO_COSE_INVALID',
  );
  assert.equal(
    code(() => parseNitroDocument(cose(payload(), { sig: new Uint8Array(95) }))),
    'ERR_NITRO_COSE_INVALID',
  );
  assert.equal(
    code(() => parseNitroDocument(cose(payload(), { prot: encode(new Map([[1, -7]])) }))),
    'ERR_NITRO_ALG_UNSUPPORTED',
  );
  assert.equal(
    code(() => parseNitroDocument(cose(payload(), { prot: encode([1]) }))),
    'ERR_NITRO_COSE_INVALID',
  );
  assert.equal(
    code(() => parseNitroDocument(cose(payload(), { prot: new Uint8Array([0xa1]) }))),
    'ERR_NITRO_CBOR_INVALID',
  );
  const trailing = new Uint8Array([...cose(payload()), 0]);
  assert.equal(
    code(() => parseNitroDocument(trailing)),
    'ERR_NITRO_CBOR_INVALID',
  );
});

test('nitro: payload field checks', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ module_id: undefined }, 'module_id'],
    [{ module_id: 7 }, 'module_id'],
    [{ digest: 'SHA256' }, 'digest'],
    [{ timestamp: -1 }, 'timestamp'],
    [{ timestamp: 'x' }, 'timestamp'],
    [{ pcrs: new Map([[0, new Uint8Array(47)]]) }, 'pcrs'],
    [{ pcrs: new Map([[32, new Uint8Array(48)]]) }, 'pcrs'],
    [{ pcrs: new Map([['0', new Uint8Array(48)]]) }, 'pcrs'],
    [{ pcrs: new Map() }, 'pcrs'],
    [{ certificate: undefined }, 'certificate'],
    [{ certificate: new Uint8Array(1025) }, 'certificate'],
    [{ cabundle: [] }, 'cabundle'],
    [{ cabundle: ['x'] }, 'cabundle'],
    [{ user_data: new Uint8Array(1025) }, 'user_data'],
    [{ nonce: 'abc' }, 'nonce'],
    [{ public_key: 3 }, 'public_key'],
  ];
  for (const [over, field] of cases) {
    try {
      parseNitroDocument(cose(payload(over)));
      assert.fail(`accepted bad ${field}`);
    } catch (e) {
      assert.ok(e instanceof RatlsError);
      assert.equal(e.code, 'ERR_NITRO_DOC_INVALID', field);
      assert.match(e.message, new RegExp(field));
    }
  }
  assert.equal(
    code(() => parseNitroDocument(cose(encode([1])))),
    'ERR_NITRO_DOC_INVALID',
  );
  const d = parseNitroDocument(cose(payload({ nonce: undefined, public_key: undefined })));
  assert.equal(d.nonce, null);
  assert.equal(d.publicKey, null);
});

test('nitro: text edge decoding', () => {
  const raw = cose(payload());
  assert.deepEqual(nitroDocumentFromText(Buffer.from(raw).toString('hex')), raw);
  assert.deepEqual(nitroDocumentFromText(`  ${Buffer.from(raw).toString('base64')}\n`), raw);
  assert.equal(
    code(() => nitroDocumentFromText('not *** base64')),
    'ERR_NITRO_DOC_ENCODING',
  );
  assert.equal(
    code(() => nitroDocumentFromText('')),
    'ERR_NITRO_DOC_SIZE',
  );
});

test('nitro: arbitrary bytes only ever raise typed errors', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      try {
        parseNitroDocument(b);
      } catch (e) {
        assert.ok(e instanceof RatlsError, String(e));
      }
    }),
    { numRuns: 500 },
  );
  const base = cose(payload());
  fc.assert(
    fc.property(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), (i, v) => {
      const b = new Uint8Array(base);
      b[i] = v;
      try {
        parseNitroDocument(b);
      } catch (e) {
        assert.ok(e instanceof RatlsError, String(e));
      }
    }),
    { numRuns: 500 },
  );
});
