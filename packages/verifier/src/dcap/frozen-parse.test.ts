import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dcapCases, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { collateralFromJson } from '../collateral/json.js';
import { deepFreeze, sealBuilt } from '../freeze.js';
import { parseQeIdentity } from './qe-identity.js';
import { parseTcbInfo } from './tcb-info.js';

/** Paths of plain objects and arrays left editable, walked with every own key (symbols too). */
function editable(root: unknown): string[] {
  const open: string[] = [];
  const seen = new Set<object>();
  const visit = (v: unknown, path: string): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    const proto = Object.getPrototypeOf(v);
    if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return;
    if (!Object.isFrozen(v)) open.push(path);
    for (const key of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key);
      if (d && 'value' in d) visit(d.value, `${path}.${String(key)}`);
    }
  };
  visit(root, '$');
  return open;
}

describe('collateral parsers freeze while building', { skip: SKIP_NO_VECTORS }, () => {
  test('TCB info (v2, v3 SGX, v3 TDX with module identities) and QE identity come out deeply frozen', () => {
    let tdxModules = 0;
    for (const c of dcapCases()) {
      const col = collateralFromJson(readVectorText(c.collateral));
      const t = parseTcbInfo(col.tcbInfoJson);
      tdxModules += t.tdxModuleIdentities?.length ?? 0;
      assert.deepEqual(editable(t), [], `${c.name}: TCB info`);
      assert.deepEqual(editable(parseQeIdentity(col.qeIdentityJson)), [], `${c.name}: QE identity`);
      const first = t.tcbLevels[0] as (typeof t.tcbLevels)[0];
      assert.throws(() => first.sgxComponents.push(1), TypeError);
      assert.throws(() => first.advisoryIds.push('INTEL-SA-0'), TypeError);
    }
    assert.ok(tdxModules > 0, 'a TDX case with module identities was walked');
  });

  test('the fast component loop still names the failing field with ERR_TCB_INFO_MALFORMED', () => {
    const c = dcapCases().find((x) => x.tee === 'SGX' && x.name.includes('phala'));
    const good = collateralFromJson(readVectorText((c ?? (dcapCases()[0] as { collateral: string })).collateral));
    const json = good.tcbInfoJson;
    const v3 = JSON.parse(json).version === 3;
    const broken = v3
      ? json.replace(/"svn":\d+/, '"svn":256')
      : json.replace(/"sgxtcbcomp01svn":\d+/, '"sgxtcbcomp01svn":256');
    assert.throws(
      () => parseTcbInfo(broken),
      (e: Error & { code?: string; step?: string }) => {
        assert.equal(e.code, 'ERR_TCB_INFO_MALFORMED');
        assert.equal(e.step, 'tcb-info');
        assert.match(
          e.message,
          v3 ? /tcbLevels\[0\]\.tcb\.sgxtcbcomponents\[0\]\.svn must be an integer in 0\.\.255/ : /sgxtcbcomp01svn/,
        );
        return true;
      },
    );
    if (v3) {
      const short = json.replace(/"sgxtcbcomponents":\[\{/, '"sgxtcbcomponents":[{"svn":1},{');
      assert.throws(() => parseTcbInfo(short), /tcbLevels\[0\]\.tcb\.sgxtcbcomponents must be an array of 16 entries/);
    }
  });
});

describe('sealBuilt', () => {
  test('a sealed root is frozen and the non-strict walk stops at it; the strict walk still checks it', () => {
    const inner = Object.freeze({ n: 1 });
    const sealed = sealBuilt({ inner, bytes: new Uint8Array(1) });
    assert.ok(Object.isFrozen(sealed));
    const holder = deepFreeze({ sealed, other: { x: [1] } }, false);
    assert.deepEqual(editable(holder), []);
    // Results are JSON-shaped: a sealed parser value with bytes is still refused by the strict walk.
    assert.throws(() => deepFreeze({ sealed }, true), /\$\.sealed\.bytes is not a plain object/);
  });
});
