import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { RatlsError } from '../errors.js';
import { parseCrlDer } from './crl.js';
import { derChildren, derTlv, readDer } from './der.js';
import { readPem, writePem } from './pem.js';
import { derTime } from './time.js';
import { parseX509 } from './x509.js';

const b = (...x: number[]): Uint8Array => Uint8Array.from(x);
function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof RatlsError, String(e));
    return e.code;
  }
  return 'accepted';
}

describe('asn1 DER: hostile encodings', () => {
  test('canonical short and long forms are read', () => {
    assert.deepEqual(readDer(b(0x04, 0x02, 1, 2)), { tag: 4, start: 0, contentStart: 2, end: 4 });
    const long = new Uint8Array(3 + 200);
    long.set([0x04, 0x81, 200]);
    assert.equal(readDer(long).end, 203);
  });
  test('non-canonical lengths: 04 81 02, 81 05, 82 00 05 → ERR_DER_MALFORMED', () => {
    assert.equal(
      code(() => readDer(b(0x04, 0x81, 0x02, 1, 2))),
      'ERR_DER_MALFORMED',
    );
    assert.equal(
      code(() => readDer(b(0x04, 0x81, 0x05, 1, 2, 3, 4, 5))),
      'ERR_DER_MALFORMED',
    );
    assert.equal(
      code(() => readDer(b(0x04, 0x82, 0x00, 0x05, 1, 2, 3, 4, 5))),
      'ERR_DER_MALFORMED',
    );
    assert.match(String(catchErr(() => readDer(b(0x04, 0x81, 0x02, 1, 2))).message), /at offset 0/);
  });
  test('indefinite length, length overrun, truncated header, 5-byte length', () => {
    assert.equal(
      code(() => readDer(b(0x30, 0x80, 0, 0))),
      'ERR_DER_MALFORMED',
    );
    assert.equal(
      code(() => readDer(b(0x04, 0x05, 1, 2))),
      'ERR_DER_MALFORMED',
    );
    assert.equal(
      code(() => readDer(b(0x04))),
      'ERR_DER_MALFORMED',
    );
    assert.equal(
      code(() => readDer(b(0x04, 0x85, 1, 0, 0, 0, 0))),
      'ERR_DER_MALFORMED',
    );
  });
  test('trailing bytes at top level; a bad child deep inside', () => {
    assert.equal(
      code(() => readDer(b(0x04, 0x01, 1, 0))),
      'ERR_DER_MALFORMED',
    );
    assert.match(String(catchErr(() => readDer(b(0x04, 0x01, 1, 0))).message), /1 trailing bytes at offset 3/);
    assert.equal(
      code(() => readDer(b(0x30, 0x06, 0x30, 0x04, 0x04, 0x81, 0x01, 0x00))),
      'ERR_DER_MALFORMED',
    );
  });
  test('multi-byte tags', () => {
    assert.equal(
      code(() => readDer(b(0x1f, 0x81, 0x01, 0x00))),
      'ERR_DER_MALFORMED',
    );
    assert.equal(
      code(() => derTlv(b(0xbf, 0x20, 0x00), 0)),
      'ERR_DER_MALFORMED',
    );
  });
  test('nesting bomb: 10 000 nested SEQUENCEs are refused, not a stack overflow', () => {
    const depth = 10_000;
    const out: number[] = [];
    // Each level is short-form only while it fits; build from the inside out with canonical lengths.
    let inner = new Uint8Array(0);
    for (let i = 0; i < depth; i++) {
      const len = inner.length;
      const head =
        len < 0x80
          ? [0x30, len]
          : len < 0x100
            ? [0x30, 0x81, len]
            : len < 0x10000
              ? [0x30, 0x82, len >> 8, len & 0xff]
              : [0x30, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
      const next = new Uint8Array(head.length + len);
      next.set(head);
      next.set(inner, head.length);
      inner = next;
    }
    out.push(inner.length);
    assert.equal(
      code(() => readDer(inner)),
      'ERR_DER_MALFORMED',
    );
    assert.match(String(catchErr(() => readDer(inner)).message), /nesting deeper than 32/);
  });
  test('oversized input and too many children', () => {
    assert.equal(
      code(() => readDer(new Uint8Array(10), undefined, 8)),
      'ERR_DER_MALFORMED',
    );
    const many = new Uint8Array(2 + 2 + 100 * 2);
    many.set([0x30, 0x82, 0, 200]);
    for (let i = 0; i < 100; i++) many.set([0x05, 0x00], 4 + i * 2);
    assert.equal(
      code(() => derChildren(many, readDer(many), 10)),
      'ERR_DER_MALFORMED',
    );
  });
});

function catchErr(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('no error');
}

describe('asn1 time: RFC 5280 DER forms only', () => {
  const t = (tag: number, s: string): Uint8Array => {
    const c = new TextEncoder().encode(s);
    return Uint8Array.from([tag, c.length, ...c]);
  };
  const read = (x: Uint8Array): number => derTime(x, readDer(x));
  test('UTCTime 50-99 is 19xx, 00-49 is 20xx; GeneralizedTime', () => {
    assert.equal(read(t(0x17, '500101000000Z')), Date.UTC(1950, 0, 1) / 1000);
    assert.equal(read(t(0x17, '491231235959Z')), Date.UTC(2049, 11, 31, 23, 59, 59) / 1000);
    assert.equal(read(t(0x18, '20500101000000Z')), Date.UTC(2050, 0, 1) / 1000);
  });
  test('no Z, no seconds, fractions, offsets, impossible dates → ERR_DER_MALFORMED', () => {
    for (const [tag, s] of [
      [0x17, '5001010000000'],
      [0x17, '5001010000Z'],
      [0x18, '20500101000000.5Z'],
      [0x17, '500101000000+0100'],
      [0x17, '500431000000Z'],
      [0x17, '500101240000Z'],
      [0x17, '5001010000a0Z'],
      [0x04, '500101000000Z'],
    ] as const) {
      assert.equal(
        code(() => read(t(tag, s))),
        'ERR_DER_MALFORMED',
        s,
      );
    }
  });
});

describe('asn1 PEM: strict armour and base64', () => {
  const der = Uint8Array.from({ length: 100 }, (_, i) => i);
  const pem = writePem(der, 'CERTIFICATE');
  test('round trip, CRLF, chains with blank lines between blocks', () => {
    assert.deepEqual(readPem(pem, { label: 'CERTIFICATE' }), [der]);
    assert.deepEqual(readPem(pem.replace(/\n/g, '\r\n'), { label: 'CERTIFICATE' }), [der]);
    assert.equal(readPem(`\n${pem}\n  \n${pem}`, { label: 'CERTIFICATE' }).length, 2);
  });
  const cases: [string, string][] = [
    ['CERTIFICATD label', pem.replace('BEGIN CERTIFICATE', 'BEGIN CERTIFICATD')],
    ['END label differs', pem.replace('END CERTIFICATE', 'END CERTIFICATD')],
    ['BEGIN X509 CRL for a certificate', pem.replace(/CERTIFICATE/g, 'X509 CRL')],
    ['invalid base64 character', pem.replace(/\n(.)/, '\n*')],
    ['space inside a line', pem.replace(/\n(.{10})/, '\n$1 ')],
    ['missing padding', writePem(der.subarray(0, 98), 'CERTIFICATE').replace('=', '')],
    [
      'non-zero pad bits',
      // 'B' and 'F' both end in the bits 01: with one '=' the last two bits are padding and must be zero.
      writePem(der.subarray(0, 98), 'CERTIFICATE').replace(/.=\n/, (m) => `${m[0] === 'B' ? 'F' : 'B'}=\n`),
    ],
    ['text after padding', writePem(der.subarray(0, 98), 'CERTIFICATE').replace('=\n', '=\nAAAA\n')],
    ['text between blocks', `${pem}hello\n${pem}`],
    ['text before a block', `subject=CN=x\n${pem}`],
    ['no END line', pem.slice(0, pem.indexOf('-----END'))],
    ['empty body', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'],
    ['nothing at all', '   \n'],
  ];
  for (const [name, text] of cases) {
    test(`${name} → ERR_PEM_MALFORMED`, () => {
      assert.equal(
        code(() => readPem(text, { label: 'CERTIFICATE' })),
        'ERR_PEM_MALFORMED',
      );
    });
  }
  test('pad bits: every last character of a padded block is accepted exactly when re-encoding gives it back', () => {
    // Exhaustive over the 64 characters for one and two pad characters: readPem checks the unused
    // bits itself (no re-encode), so it must agree with decode-then-encode on every one.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    let refused = 0;
    for (const tail of ['QU', 'Q']) {
      for (const ch of alphabet) {
        const b64 = `QUJD${tail}${ch}${'='.repeat(3 - tail.length)}`;
        const canonical = Buffer.from(b64, 'base64').toString('base64') === b64;
        const text = `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
        if (canonical)
          assert.deepEqual(readPem(text, { label: 'CERTIFICATE' }), [new Uint8Array(Buffer.from(b64, 'base64'))]);
        else {
          refused++;
          assert.equal(
            code(() => readPem(text, { label: 'CERTIFICATE' })),
            'ERR_PEM_MALFORMED',
            b64,
          );
        }
      }
    }
    assert.equal(refused, 48 + 60, 'three in four one-pad endings and fifteen in sixteen two-pad endings are refused');
  });
  test('oversized text → ERR_PEM_TOO_LARGE; too many blocks → ERR_PEM_MALFORMED', () => {
    assert.equal(
      code(() => readPem(pem, { label: 'CERTIFICATE', maxChars: 100 })),
      'ERR_PEM_TOO_LARGE',
    );
    assert.equal(
      code(() => readPem(pem.repeat(3), { label: 'CERTIFICATE', maxBlocks: 2 })),
      'ERR_PEM_MALFORMED',
    );
  });
});

describe('asn1: arbitrary input only ever raises the typed errors', () => {
  const TYPED = new Set([
    'ERR_DER_MALFORMED',
    'ERR_CERT_MALFORMED',
    'ERR_CERT_DUPLICATE_EXTENSION',
    'ERR_CERT_TOO_LARGE',
    'ERR_CRL_MALFORMED',
    'ERR_PEM_MALFORMED',
    'ERR_PEM_TOO_LARGE',
  ]);
  const typed = (f: () => unknown): void => {
    const c = code(f);
    assert.ok(c === 'accepted' || TYPED.has(c), c);
  };
  test('bytes into readDer, parseX509, parseCrlDer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (x) => {
        typed(() => readDer(x));
        typed(() => parseX509(x));
        typed(() => parseCrlDer(x));
      }),
      { numRuns: 3000 },
    );
  });
  test('structured DER-ish bytes (valid headers, random content) into parseX509', () => {
    const node = fc.letrec<{ n: Uint8Array }>((tie) => ({
      n: fc.oneof(
        { depthSize: 'small' },
        fc
          .tuple(fc.constantFrom(2, 3, 4, 5, 6, 0x17, 0x18, 0x01), fc.uint8Array({ maxLength: 20 }))
          .map(([t, c]) => Uint8Array.from([t, c.length, ...c])),
        fc.tuple(fc.constantFrom(0x30, 0x31, 0xa0, 0xa3), fc.array(tie('n'), { maxLength: 8 })).map(([t, kids]) => {
          const body = Buffer.concat(kids);
          return body.length < 128
            ? Uint8Array.from([t, body.length, ...body])
            : Uint8Array.from([t, 0x82, body.length >> 8, body.length & 0xff, ...body]);
        }),
      ),
    })).n;
    fc.assert(
      fc.property(node, (x) => {
        typed(() => parseX509(x));
        typed(() => parseCrlDer(x));
      }),
      { numRuns: 2000 },
    );
  });
  test('text into readPem', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.constantFrom('', '-----BEGIN CERTIFICATE-----\n'), (s, prefix) => {
        typed(() => readPem(prefix + s, { label: 'CERTIFICATE' }));
      }),
      { numRuns: 3000 },
    );
  });
});
