import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { PolicyError } from '@ratls/evidence';
import fc from 'fast-check';
import { MAX_POLICY_BYTES, PolicyValidationError, parsePolicy } from './parse.js';

const h = (bytes: number, c = 'ab') => c.repeat(bytes);

function refuse(text: string): PolicyValidationError {
  try {
    parsePolicy(text, { source: 'policy.yaml' });
  } catch (e) {
    assert.ok(e instanceof PolicyValidationError);
    assert.ok(e instanceof PolicyError);
    assert.equal(e.code, 'ERR_POLICY_INVALID');
    assert.equal(e.step, 'policy');
    return e;
  }
  assert.fail('policy was accepted');
}

const VALID = `version: 1
defaults:
  tcbStatus: [UpToDate, SWHardeningNeeded]
  advisories: { allow: [intel-sa-00334, INTEL-SA-00615], deny: [INTEL-SA-00828] }
  debug: false
  simulated: false
  maxCertificateAge: 86400
identities:
  - name: payments
    sgx: { mrEnclave: [ "${h(32, 'AB')}" ] }
  - name: signer-family
    sgx: { mrSigner: "${h(32, '81')}", isvProdId: 0, minIsvSvn: 3, attributes: { mask: "${h(16, '0f')}", value: "${h(16, '05')}" } }
  - name: kms-td
    tdx: { mrTd: "${h(48, '91')}", rtmr0: "${h(48)}", rtmr1: "${h(48)}", rtmr2: "${h(48)}", rtmr3: "${h(48)}", mrSeam: "${h(48)}", tdAttributes: { mask: "${h(8, 'ff')}", value: "${h(8, '00')}" } }
    tcbStatus: [UpToDate]
  - name: snp-vm
    snp: { measurement: "${h(48)}", hostData: "${h(32)}", idKeyDigest: "${h(48)}", minTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 }, vmpl: 0 }
  - name: nitro-app
    nitro:
      pcr0: ${'0'.repeat(96)}
      pcr8: "${h(48)}"
    debug: true
`;

describe('parsePolicy', () => {
  it('accepts a full policy, normalizes hex and lists, applies defaults and overrides', () => {
    const p = parsePolicy(VALID, { source: 'policy.yaml' });
    assert.equal(p.version, 1);
    assert.equal(p.source, 'policy.yaml');
    assert.equal(p.hash, createHash('sha256').update(VALID).digest('hex'));
    assert.deepEqual(p.defaults.advisories, { allow: ['INTEL-SA-00334', 'INTEL-SA-00615'], deny: ['INTEL-SA-00828'] });
    assert.equal(p.identities.length, 5);
    const [pay, fam, kms, snp, nitro] = p.identities;
    assert.ok(pay?.kind === 'sgx');
    assert.deepEqual(pay.sgx.mrEnclave, [h(32)]);
    assert.ok(fam?.kind === 'sgx');
    assert.deepEqual(fam.sgx.mrSigner, [h(32, '81')]);
    assert.equal(fam.sgx.minIsvSvn, 3);
    assert.ok(kms?.kind === 'tdx');
    assert.deepEqual(kms.effective.tcbStatus, ['UpToDate']);
    assert.equal(kms.effective.maxCertificateAge, 86400);
    assert.ok(snp?.kind === 'snp');
    assert.equal(snp.snp.minTcb?.microcode, 115);
    // An all-digit PCR would be a YAML number; its source text must survive.
    assert.ok(nitro?.kind === 'nitro');
    assert.deepEqual(nitro.nitro.pcr0, ['0'.repeat(96)]);
    assert.equal(nitro.effective.debug, true);
    assert.ok(Object.isFrozen(p.identities));
  });

  it('uses the default tcbStatus set when none is given', () => {
    const p = parsePolicy(`version: 1\nidentities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n`);
    assert.deepEqual(p.defaults.tcbStatus, ['UpToDate', 'SWHardeningNeeded']);
    assert.equal(p.defaults.debug, false);
    assert.equal(p.source, '<policy>');
  });

  it('hashes exact bytes', () => {
    const a = parsePolicy(`version: 1\nidentities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n`);
    const b = parsePolicy(`version: 1\nidentities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n\n`);
    assert.notEqual(a.hash, b.hash);
  });

  it('refuses an unknown key with its line, column and path', () => {
    const e = refuse(
      `version: 1\nidentities:\n  - name: a\n    sgx:\n      mrSigner: "${h(32)}"\n      mrEnclav: "${h(32)}"\n`,
    );
    assert.equal(e.issues.length, 1);
    assert.deepEqual(e.issues[0], {
      source: 'policy.yaml',
      line: 6,
      column: 7,
      path: 'identities[0].sgx.mrEnclav',
      message: "unknown key 'mrEnclav' (did you mean 'mrEnclave'?)",
    });
    assert.equal(
      e.message,
      "policy.yaml:6:7: identities[0].sgx.mrEnclav: unknown key 'mrEnclav' (did you mean 'mrEnclave'?)",
    );
  });

  it('refuses an unknown top-level key', () => {
    const e = refuse(`version: 1\nidentitys: []\nidentities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n`);
    assert.ok(e.issues.some((i) => i.path === 'identitys' && i.line === 2 && i.column === 1));
  });

  it('refuses short hex with the exact message format', () => {
    const e = refuse(
      `version: 1\nidentities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n  - name: b\n    sgx:\n      mrEnclave:\n        - "${'a'.repeat(62)}"\n`,
    );
    assert.equal(e.message, 'policy.yaml:8:11: identities[1].sgx.mrEnclave[0]: expected 64 hex characters, got 62');
  });

  it('refuses non-hex and wrong-width hex in every TEE', () => {
    const cases: [string, string][] = [
      [`sgx: { mrEnclave: "${'g'.repeat(64)}" }`, 'identities[0].sgx.mrEnclave'],
      [`tdx: { mrTd: "${h(32)}" }`, 'identities[0].tdx.mrTd'],
      [`tdx: { mrTd: "${h(48)}", rtmr2: "${h(47)}" }`, 'identities[0].tdx.rtmr2'],
      [`snp: { measurement: "${h(32)}" }`, 'identities[0].snp.measurement'],
      [`snp: { measurement: "${h(48)}", hostData: "${h(48)}" }`, 'identities[0].snp.hostData'],
      [`nitro: { pcr0: "${h(32)}" }`, 'identities[0].nitro.pcr0'],
      [
        `sgx: { mrSigner: "${h(32)}", attributes: { mask: "${h(8)}", value: "${h(16)}" } }`,
        'identities[0].sgx.attributes.mask',
      ],
    ];
    for (const [section, path] of cases) {
      const e = refuse(`version: 1\nidentities:\n  - name: a\n    ${section}\n`);
      assert.equal(e.issues[0]?.path, path, section);
      assert.equal(e.issues[0]?.line, 4, section);
    }
  });

  it('refuses a mask rule whose value has bits outside the mask', () => {
    const e = refuse(
      `version: 1\nidentities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}", attributes: { mask: "${h(16, '01')}", value: "${h(16, '03')}" } }\n`,
    );
    assert.equal(e.issues[0]?.path, 'identities[0].sgx.attributes.value');
  });

  it('refuses an identity without a tee section, and one that pins nothing', () => {
    const e = refuse(`version: 1\nidentities:\n  - name: a\n    debug: true\n`);
    assert.equal(e.issues[0]?.path, 'identities[0]');
    assert.equal(e.issues[0]?.line, 3);
    assert.match(e.message, /no tee section/);
    const e2 = refuse(`version: 1\nidentities:\n  - name: a\n    sgx: { isvProdId: 1 }\n`);
    assert.match(e2.message, /identities\[0\]\.sgx: sgx identity must pin at least one of mrEnclave, mrSigner/);
  });

  it('refuses two tee sections in one identity', () => {
    const e = refuse(
      `version: 1\nidentities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n    tdx: { mrTd: "${h(48)}" }\n`,
    );
    assert.equal(e.issues[0]?.path, 'identities[0].tdx');
    assert.equal(e.issues[0]?.line, 5);
  });

  it('refuses an unknown tcbStatus, in defaults and per identity', () => {
    const e = refuse(
      `version: 1\ndefaults:\n  tcbStatus: [UpToDate, Fine]\nidentities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n    tcbStatus: Great\n`,
    );
    assert.deepEqual(
      e.issues.map((i) => [i.line, i.path]),
      [
        [3, 'defaults.tcbStatus[1]'],
        [7, 'identities[0].tcbStatus'],
      ],
    );
    assert.match(e.message, /unknown tcbStatus 'Fine'; expected one of UpToDate/);
  });

  it('refuses duplicate identity names', () => {
    const e = refuse(
      `version: 1\nidentities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n`,
    );
    assert.equal(e.issues[0]?.path, 'identities[1].name');
    assert.equal(e.issues[0]?.line, 5);
    assert.match(e.message, /duplicate identity name 'a' \(first at identities\[0\]\)/);
  });

  it('refuses a wrong or missing version', () => {
    const e = refuse(`version: 3\nidentities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n`);
    assert.equal(e.message, 'policy.yaml:1:10: version: unsupported policy version 3; expected 1 or 2');
    const e2 = refuse(`identities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n`);
    assert.match(e2.message, /version: required field is missing/);
  });

  it('refuses YAML syntax errors with their position', () => {
    const e = refuse(`version: 1\nidentities:\n  - name: "a\n`);
    assert.match(e.message, /^policy\.yaml:\d+:\d+: YAML syntax: /);
    const e2 = refuse(`version: 1\nversion: 1\nidentities: []\n`);
    assert.equal(e2.issues[0]?.line, 2);
  });

  it('refuses aliases, bad names, wrong types, empty identity lists and non-mappings', () => {
    assert.match(
      refuse(`version: 1\nx: &a ${h(32)}\nidentities:\n  - name: a\n    sgx: { mrSigner: *a }\n`).message,
      /aliases are not allowed/,
    );
    assert.match(
      refuse(`version: 1\nidentities:\n  - name: "a b"\n    sgx: { mrSigner: "${h(32)}" }\n`).message,
      /name/,
    );
    assert.match(
      refuse(`version: 1\ndefaults: { debug: "no" }\nidentities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n`)
        .message,
      /defaults\.debug: expected true or false/,
    );
    assert.match(refuse('version: 1\nidentities: []\n').message, /expected at least one identity/);
    assert.match(refuse('- 1\n').message, /expected a mapping/);
  });

  it('refuses oversized and non-UTF-8 input', () => {
    assert.match(refuse(`# ${'x'.repeat(MAX_POLICY_BYTES)}\n`).message, /size limit/);
    const e = (() => {
      try {
        parsePolicy(new Uint8Array([0xff, 0xfe, 0x00]));
      } catch (err) {
        return err as PolicyValidationError;
      }
      assert.fail('accepted');
    })();
    assert.equal(e.code, 'ERR_POLICY_INVALID');
  });

  it('refuses pathological nesting before the YAML parser sees it', () => {
    assert.match(refuse('['.repeat(100_000)).message, /^policy\.yaml:1:33: flow collections nested deeper than 32$/);
    assert.match(refuse(`${'- '.repeat(100_000)}x`).message, /indentation deeper than 256 columns/);
  });

  it('treats a __proto__ key as an unknown key, never a prototype change', () => {
    const e = refuse(
      `version: 1\n__proto__: { polluted: true }\nidentities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n`,
    );
    assert.equal(e.issues[0]?.path, '__proto__');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('never throws anything but PolicyValidationError on arbitrary text', () => {
    const pieces = [
      'version: 1\n',
      'identities:\n',
      '  - name: a\n',
      '    sgx: { mrSigner: "',
      h(32),
      '" }\n',
      '&x ',
      '*x',
      '[',
      '{',
      ': ',
      '- ',
      '\t',
      '#',
      '0x1',
    ];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.array(fc.constantFrom(...pieces), { maxLength: 20 }).map((a) => a.join('')),
        ),
        (t) => {
          try {
            parsePolicy(t);
          } catch (e) {
            if (!(e instanceof PolicyValidationError)) throw e;
            assert.ok(e.issues.length > 0);
          }
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });
});
