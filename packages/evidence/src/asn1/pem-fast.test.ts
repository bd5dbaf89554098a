import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { RatlsError } from '../errors.js';
import { readPem, writePem } from './pem.js';
import { readPemLines } from './pem-lines.js';

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';

/** The outcome of a reader: the decoded blocks as hex, or the error code and message. */
function outcome(f: () => Uint8Array[]): string {
  try {
    return f()
      .map((b) => Buffer.from(b).toString('hex'))
      .join(',');
  } catch (e) {
    assert.ok(e instanceof RatlsError, String(e));
    return `${e.code}: ${e.message}`;
  }
}

const same = (text: string, maxBlocks = 8) =>
  assert.equal(
    outcome(() => readPem(text, { label: 'CERTIFICATE', maxBlocks })),
    outcome(() => readPemLines(text, BEGIN, END, maxBlocks)),
    JSON.stringify(text),
  );

// The one-pass reader (readPemBlocks in pem.ts) must accept exactly what the line reader accepts,
// with the same bytes, and leave every refusal (and its message naming the line) to it.
describe('readPem one-pass reader = line reader', () => {
  const pems = [1, 2, 3, 47, 48, 49, 50, 200].map((n) =>
    writePem(
      Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff),
      'CERTIFICATE',
    ),
  );
  test('edge forms: CRLF, blank lines, padding, trailing text, armour variants, block bound', () => {
    const p = pems[0] as string;
    const q = pems[2] as string;
    for (const t of [
      p,
      p.trimEnd(),
      `${p.trimEnd()}\r`,
      p.replace(/\n/g, '\r\n'),
      `\n \t\n${p}\n\n${q}  `,
      `${p}${q}`,
      p.replace(BEGIN, `${BEGIN} `),
      p.replace(END, ` ${END}`),
      p.replace(`${BEGIN}\n`, `${BEGIN}\n\n`),
      p.replace(/=*\n-----END/, `\n\n${END.slice(0, 5)}`),
      p.replace('==', '=\n='),
      p.replace('==', '==\n'),
      p.replace('==', 'A='),
      p.replace(/\n([A-Za-z0-9+/]{3})/, '\n$1\r'),
      `x${p}`,
      `${p}x`,
      `${p}-----BEGIN X509 CRL-----\n`,
      `${p}${BEGIN}\n`,
      p.replace(/\n/, '\r\r\n'),
      ` \r \n${p}`,
      p.replace(END, `${END}\r\r`),
      '',
      `${BEGIN}\n${END}\n`,
    ]) {
      same(t);
    }
    same(`${p}${p}${p}`, 2);
    same(`${p}${p}`, 2);
  });
  test('property: any edit of valid PEM text gets the same outcome from both readers', () => {
    const alphabet = ['A', 'z', '0', '+', '/', '=', '\n', '\r', ' ', '\t', '-', 'B', 'x', '\u00e9'];
    fc.assert(
      fc.property(
        fc.constantFrom(...pems),
        fc.constantFrom(...pems),
        fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.constantFrom(...alphabet)), { maxLength: 4 }),
        (a, b, edits) => {
          let t = `${a}${b}`;
          for (const [at, del, ch] of edits) {
            const i = at % (t.length + 1);
            t = t.slice(0, i) + ch + t.slice(i + del);
          }
          same(t);
          same(t, 1);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
