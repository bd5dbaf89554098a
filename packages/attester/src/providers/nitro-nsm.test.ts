import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNitroDocument, RatlsError } from '@ratls/evidence';
import { decode, encode } from 'cbor2';
import type { ProviderFs } from './fs.js';
import {
  decodeNsmAttestationResponse,
  encodeNsmAttestationRequest,
  NitroNsmProvider,
  type NsmTransport,
} from './nitro-nsm.js';

function fakeFs(present: boolean): ProviderFs {
  const no = async (): Promise<never> => {
    throw new Error('not used');
  };
  return { exists: async (p) => present && p === '/dev/nsm', readFile: no, writeFile: no, mkdir: no, rmdir: no };
}

/** A minimal well-formed (unsigned) document echoing the request, as a fake NSM would. */
function fakeDoc(userData: Uint8Array | null, nonce: Uint8Array | null, publicKey: Uint8Array | null): Uint8Array {
  const payload = encode(
    new Map<string, unknown>([
      ['module_id', 'i-test-enc0'],
      ['digest', 'SHA384'],
      ['timestamp', 1700000000000],
      ['pcrs', new Map([[0, new Uint8Array(48)]])],
      ['certificate', new Uint8Array([0x30])],
      ['cabundle', [new Uint8Array([0x30])]],
      ['public_key', publicKey],
      ['user_data', userData],
      ['nonce', nonce],
    ]),
  );
  return encode([encode(new Map([[1, -35]])), new Map(), payload, new Uint8Array(96)]);
}

const echoNsm: NsmTransport = async (req) => {
  const m = decode(req, { preferMap: true }) as Map<string, Map<string, Uint8Array | null>>;
  const a = m.get('Attestation') as Map<string, Uint8Array | null>;
  return encode(
    new Map([
      [
        'Attestation',
        new Map([
          ['document', fakeDoc(a.get('user_data') ?? null, a.get('nonce') ?? null, a.get('public_key') ?? null)],
        ]),
      ],
    ]),
  );
};

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof RatlsError, String(e));
    return e.code;
  }
  return 'no error';
}

test('nsm: request encoding is the serde CBOR shape', async () => {
  const req = encodeNsmAttestationRequest({ userData: new Uint8Array([1, 2]), nonce: null });
  const m = decode(req, { preferMap: true }) as Map<string, Map<string, unknown>>;
  assert.deepEqual([...m.keys()], ['Attestation']);
  const a = m.get('Attestation') as Map<string, unknown>;
  assert.deepEqual([...a.keys()], ['user_data', 'nonce', 'public_key']);
  assert.deepEqual(a.get('user_data'), new Uint8Array([1, 2]));
  assert.equal(a.get('nonce'), null);
  assert.equal(Buffer.from(req).toString('hex').slice(0, 2), 'a1');
  assert.equal(
    await code(() => encodeNsmAttestationRequest({ userData: new Uint8Array(513) })),
    'ERR_PROVIDER_INPUT_INVALID',
  );
});

test('nsm: device missing, device without transport, transport failures', async () => {
  const rd = new Uint8Array(64).fill(1);
  assert.equal(await code(new NitroNsmProvider({ fs: fakeFs(false) }).getEvidence(rd)), 'ERR_PROVIDER_NOT_FOUND');
  assert.equal(await code(new NitroNsmProvider({ fs: fakeFs(true) }).getEvidence(rd)), 'ERR_PROVIDER_UNSUPPORTED');
  const boom: NsmTransport = async () => {
    throw new Error('EIO');
  };
  assert.equal(
    await code(new NitroNsmProvider({ fs: fakeFs(true), transport: boom }).getEvidence(rd)),
    'ERR_PROVIDER_NSM_TRANSPORT',
  );
  assert.equal(
    await code(new NitroNsmProvider({ fs: fakeFs(true) }).getEvidence(new Uint8Array(63))),
    'ERR_PROVIDER_REPORT_DATA_LENGTH',
  );
  assert.equal(
    await code(new NitroNsmProvider({ fs: fakeFs(true), transport: echoNsm }).attest({ nonce: new Uint8Array(513) })),
    'ERR_PROVIDER_INPUT_INVALID',
  );
});

test('nsm: a document echoing user_data and public_key comes back as evidence', async () => {
  const rd = new Uint8Array(64).fill(7);
  const pk = new Uint8Array([0x30, 1, 2]);
  const p = new NitroNsmProvider({ fs: fakeFs(true), transport: echoNsm, publicKey: pk });
  const ev = await p.getEvidence(rd);
  assert.equal(ev.tee, 'nitro');
  const doc = parseNitroDocument(ev.evidence);
  assert.deepEqual(doc.userData, rd);
  assert.deepEqual(doc.publicKey, pk);
  const nonce = new Uint8Array([5, 5]);
  assert.deepEqual(parseNitroDocument(await p.attest({ userData: rd, nonce })).nonce, nonce);
});

test('nsm: responses are checked (error map, junk, wrong echo, size)', async () => {
  assert.equal(
    await code(() => decodeNsmAttestationResponse(encode(new Map([['Error', 'InvalidArgument']])))),
    'ERR_PROVIDER_NSM_ERROR',
  );
  assert.equal(await code(() => decodeNsmAttestationResponse(new Uint8Array([0xff]))), 'ERR_PROVIDER_NSM_RESPONSE');
  assert.equal(await code(() => decodeNsmAttestationResponse(encode('InvalidResponse'))), 'ERR_PROVIDER_NSM_RESPONSE');
  assert.equal(
    await code(() => decodeNsmAttestationResponse(encode(new Map([['Attestation', new Map()]])))),
    'ERR_PROVIDER_NSM_RESPONSE',
  );
  assert.equal(await code(() => decodeNsmAttestationResponse(new Uint8Array(0x3001))), 'ERR_PROVIDER_NSM_RESPONSE');
  const liar: NsmTransport = async () =>
    encode(new Map([['Attestation', new Map([['document', fakeDoc(new Uint8Array(64), null, null)]])]]));
  assert.equal(
    await code(new NitroNsmProvider({ fs: fakeFs(true), transport: liar }).getEvidence(new Uint8Array(64).fill(1))),
    'ERR_PROVIDER_NSM_RESPONSE',
  );
  const junkDoc: NsmTransport = async () =>
    encode(new Map([['Attestation', new Map([['document', new Uint8Array([1, 2, 3])]])]]));
  assert.equal(
    await code(new NitroNsmProvider({ fs: fakeFs(true), transport: junkDoc }).getEvidence(new Uint8Array(64))),
    'ERR_PROVIDER_NSM_RESPONSE',
  );
});
