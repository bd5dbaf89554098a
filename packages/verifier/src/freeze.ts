/**
 * Deep freezing for proof values (attestation results, verified PCK chains, verified collateral):
 * once a value is registered as verified, no caller can edit it and keep the brand
 * (ECMAScript §20.1.2.6 Object.freeze; frozen data properties throw on assignment in strict code).
 */

/**
 * Roots whose whole graph a finished walk froze, so a later walk that reaches them stops there
 * (a verified result inside a cached verification, a verified PCK CA inside verified collateral:
 * the fresh-certificate path froze each result twice). Sound because a frozen object's data
 * properties can never change again: everything reachable from such a root stays as frozen as
 * the walk left it. The strict walk trusts only strict roots, which it also checked for
 * non-plain values; the non-strict walk trusts both. Weak sets: nothing is kept alive by them.
 */
const strictDone = new WeakSet<object>();
const builtDone = new WeakSet<object>();

/** A plain record or array: the only containers a proof value is built from. */
function isPlainContainer(v: object): boolean {
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Freezes `value` and every plain object and array reachable through its data properties.
 * `strict` (for attestation results, which are JSON-shaped by contract) refuses anything else,
 * so a result can never carry a typed array or class instance that stays mutable. Without it,
 * typed arrays and class instances (KeyObject, whose getters cache into its own fields) are left
 * as they are: they live only inside the verifier's module-private caches. Without `strict` the
 * walk reads own enumerable properties only (`freezeBuilt`): the shape of everything the verifier
 * builds itself (forgery.test.ts walks every key of real verified inputs to hold it to that).
 * @example registerVerifiedPck(deepFreeze(pck, false)); markVerified → deepFreeze(result, true)
 */
export function deepFreeze<T>(value: T, strict: boolean): T {
  if (typeof value !== 'object' || value === null) {
    if (strict && typeof value === 'function') throw new TypeError('deepFreeze: function at $');
    return value;
  }
  if (!strict) {
    freezeBuilt(value, new Set<object>());
    builtDone.add(value);
    return value;
  }
  // The path is only for the error message: kept as a stack of keys and joined on failure, since
  // building a string per property was a measurable share of a cold DCAP appraisal. The walk is a
  // module function, not a closure made per call (under tsx every named closure also costs a
  // `__name` property definition).
  freezeStrict(value, new Set<object>(), ['$']);
  // Only a walk that finished marks its root (one that threw left some objects unfrozen).
  strictDone.add(value);
  return value;
}

/**
 * Registers `value`, which a parser of this package has just built and frozen level by level
 * (every plain object and array under it was frozen as it was made, and each nested value was
 * itself `sealBuilt` or frozen with all of its contents), so a later non-strict walk stops at it
 * instead of visiting every TCB level again. Freezing while building makes the parsers' output
 * immutable from the moment it exists; forgery.test.ts walks every key of real verified inputs
 * and fails if any container was left editable. Internal to the verifier.
 * @example return sealBuilt({ id, tcbLevels: Object.freeze(levels) })
 */
export function sealBuilt<T extends object>(value: T): T {
  Object.freeze(value);
  builtDone.add(value);
  return value;
}

function freezeStrict(v: unknown, seen: Set<object>, keys: string[]): void {
  if (typeof v === 'function') throw new TypeError(`deepFreeze: function at ${keys.join('.')}`);
  if (typeof v !== 'object' || v === null || seen.has(v) || strictDone.has(v)) return;
  seen.add(v);
  if (!isPlainContainer(v)) throw new TypeError(`deepFreeze: ${keys.join('.')} is not a plain object or array`);
  if (Array.isArray(v)) {
    // Arrays built by the verifier hold elements only (TCB levels hold 16-number component
    // arrays): index reads skip the descriptor lookups that dominated the walk.
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if ((typeof x === 'object' && x !== null) || typeof x === 'function') {
        keys.push(String(i));
        freezeStrict(x, seen, keys);
        keys.pop();
      }
    }
    Object.freeze(v);
    return;
  }
  for (const key of Reflect.ownKeys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, key);
    // Accessors (a lazily computed subject text) are not walked: their values are strings.
    // Primitives need no walk: they are immutable and allowed in strict mode.
    if (d && 'value' in d && ((typeof d.value === 'object' && d.value !== null) || typeof d.value === 'function')) {
      keys.push(String(key));
      freezeStrict(d.value, seen, keys);
      keys.pop();
    }
  }
  Object.freeze(v);
}

/**
 * The non-strict walk, for the verifier's own proof values (verified PCK chains and collateral),
 * which this package's parsers build from object literals and arrays: own enumerable data
 * properties only, no accessors. So keys are read with `for…in` and plain reads, without the
 * key list and one descriptor object per property that the strict walk makes (most of the cost
 * of freezing a cold appraisal's inputs). Object.prototype has no enumerable keys; were it
 * polluted, the extra values read would only be frozen too, never skipped.
 */
function freezeBuilt(v: object, seen: Set<object>): void {
  if (seen.has(v) || strictDone.has(v) || builtDone.has(v)) return;
  seen.add(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' && x !== null) freezeBuilt(x, seen);
    }
    Object.freeze(v);
    return;
  }
  if (!isPlainContainer(v)) return;
  const o = v as Record<string, unknown>;
  for (const key in o) {
    const x = o[key];
    if (typeof x === 'object' && x !== null) freezeBuilt(x, seen);
  }
  Object.freeze(v);
}
