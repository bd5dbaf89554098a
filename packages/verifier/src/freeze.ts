/**
 * Deep freezing for proof values (attestation results, verified PCK chains, verified collateral):
 * once a value is registered as verified, no caller can edit it and keep the brand
 * (ECMAScript §20.1.2.6 Object.freeze; frozen data properties throw on assignment in strict code).
 */

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
 * as they are: they live only inside the verifier's module-private caches.
 */
export function deepFreeze<T>(value: T, strict: boolean): T {
  const seen = new Set<object>();
  // The path is only for the error message: kept as a stack of keys and joined on failure, since
  // building a string per property was a measurable share of a cold DCAP appraisal.
  const keys: string[] = ['$'];
  const where = () => keys.join('.');
  const walk = (v: unknown): void => {
    if (typeof v === 'function' && strict) throw new TypeError(`deepFreeze: function at ${where()}`);
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (!isPlainContainer(v)) {
      if (strict) throw new TypeError(`deepFreeze: ${where()} is not a plain object or array`);
      return;
    }
    if (Array.isArray(v)) {
      // Arrays built by the verifier hold elements only (TCB levels hold 16-number component
      // arrays): index reads skip the descriptor lookups that dominated the walk.
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if ((typeof x === 'object' && x !== null) || typeof x === 'function') {
          keys.push(String(i));
          walk(x);
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
        walk(d.value);
        keys.pop();
      }
    }
    Object.freeze(v);
  };
  walk(value);
  return value;
}
