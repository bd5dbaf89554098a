/**
 * Extraction of the exact signed JSON text from an Intel PCS response body.
 *
 * PCS answers `GET …/tcb` with `{"tcbInfo":{…},"signature":"<hex r‖s>"}` and `GET …/qe/identity`
 * with `{"enclaveIdentity":{…},"signature":"…"}` (Intel PCS API v4, "TCB Info" / "Enclave
 * Identity" responses). The ECDSA signature covers the bytes of the inner object exactly as they
 * appear in the body. `JSON.stringify(JSON.parse(body).tcbInfo)` is therefore wrong: it drops
 * whitespace, rewrites escapes (`\u00e9` → `é`, `\/` → `/`) and number spellings (`1.0` → `1`),
 * so a faithful body fails verification, and a verifier that re-serializes would be checking a
 * text Intel never signed. We scan the body once, respecting strings, escapes and nesting, and
 * cut out the original substring.
 */
import { CollateralError } from '@ratls/evidence';

/** Nesting bound: real bodies nest 6 deep; anything deeper is not a PCS body. */
const MAX_DEPTH = 64;

interface Span {
  start: number;
  end: number;
}

const isWs = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

class Scanner {
  i = 0;
  constructor(
    readonly s: string,
    readonly what: string,
  ) {}

  ws(): void {
    while (this.i < this.s.length && isWs(this.s.charCodeAt(this.i))) this.i++;
  }

  expect(ch: string): void {
    if (this.s[this.i] !== ch) {
      throw new CollateralError(
        'ERR_COLLATERAL_MALFORMED',
        'collateral',
        `${this.what}: expected '${ch}' at offset ${this.i}, found ${this.describe()}`,
      );
    }
    this.i++;
  }

  describe(): string {
    return this.i >= this.s.length ? 'end of body' : `'${this.s[this.i]}'`;
  }

  /** Skips a string starting at the current '"'; returns its span including quotes. */
  string(): Span {
    const start = this.i;
    this.expect('"');
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x22) {
        this.i++;
        return { start, end: this.i };
      }
      if (c === 0x5c) this.i += 2;
      else if (c < 0x20)
        throw new CollateralError(
          'ERR_COLLATERAL_MALFORMED',
          'collateral',
          `${this.what}: control character in string at offset ${this.i}`,
        );
      else this.i++;
    }
    throw new CollateralError(
      'ERR_COLLATERAL_MALFORMED',
      'collateral',
      `${this.what}: unterminated string starting at offset ${start}`,
    );
  }

  /** Skips any JSON value; returns its span. Structure is checked; literals are checked later by JSON.parse. */
  value(depth: number): Span {
    if (depth > MAX_DEPTH)
      throw new CollateralError(
        'ERR_COLLATERAL_MALFORMED',
        'collateral',
        `${this.what}: nesting deeper than ${MAX_DEPTH}`,
      );
    const start = this.i;
    const c = this.s[this.i];
    if (c === '"') return this.string();
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      this.i++;
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        return { start, end: this.i };
      }
      for (;;) {
        if (c === '{') {
          this.string();
          this.ws();
          this.expect(':');
          this.ws();
        }
        this.value(depth + 1);
        this.ws();
        if (this.s[this.i] === ',') {
          this.i++;
          this.ws();
          continue;
        }
        this.expect(close);
        return { start, end: this.i };
      }
    }
    // number, true, false, null: a run of literal characters.
    while (this.i < this.s.length && /[0-9A-Za-z.+-]/.test(this.s[this.i] as string)) this.i++;
    if (this.i === start)
      throw new CollateralError(
        'ERR_COLLATERAL_MALFORMED',
        'collateral',
        `${this.what}: unexpected ${this.describe()} at offset ${start}`,
      );
    return { start, end: this.i };
  }
}

/**
 * Splits a PCS body into the exact signed text of `key`'s object and the signature bytes.
 * Fails closed on duplicate top-level keys (JSON.parse keeps the last one; a signature check on
 * the first would then vouch for text the appraiser never reads).
 *
 * @example
 * const { json, signature } = extractSignedJson(body, 'tcbInfo') // json === '{"id":"SGX",…}'
 */
export function extractSignedJson(
  body: string,
  key: 'tcbInfo' | 'enclaveIdentity' | 'tcbEvaluationDataNumbers',
): { json: string; signature: Uint8Array } {
  const what = `PCS ${key} body`;
  const sc = new Scanner(body, what);
  const members = new Map<string, Span>();
  sc.ws();
  sc.expect('{');
  sc.ws();
  if (sc.s[sc.i] !== '}') {
    for (;;) {
      const k = sc.string();
      const name = JSON.parse(body.slice(k.start, k.end)) as string;
      sc.ws();
      sc.expect(':');
      sc.ws();
      const v = sc.value(1);
      if (members.has(name))
        throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `${what}: duplicate member "${name}"`);
      members.set(name, v);
      sc.ws();
      if (sc.s[sc.i] === ',') {
        sc.i++;
        sc.ws();
        continue;
      }
      break;
    }
  }
  sc.expect('}');
  sc.ws();
  if (sc.i !== body.length)
    throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `${what}: trailing data at offset ${sc.i}`);
  // The scanner checked structure; JSON.parse checks literals and escapes.
  try {
    JSON.parse(body);
  } catch (e) {
    throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `${what}: not valid JSON`, { cause: e });
  }
  const inner = members.get(key);
  if (!inner || body[inner.start] !== '{')
    throw new CollateralError(
      'ERR_COLLATERAL_MALFORMED',
      'collateral',
      `${what}: member "${key}" is missing or not an object`,
    );
  const sig = members.get('signature');
  if (!sig || body[sig.start] !== '"')
    throw new CollateralError(
      'ERR_COLLATERAL_MALFORMED',
      'collateral',
      `${what}: member "signature" is missing or not a string`,
    );
  const sigHex = JSON.parse(body.slice(sig.start, sig.end)) as string;
  if (!/^[0-9a-fA-F]{128}$/.test(sigHex)) {
    throw new CollateralError(
      'ERR_COLLATERAL_MALFORMED',
      'collateral',
      `${what}: signature must be 64 bytes of hex (raw r‖s), got ${sigHex.length} characters`,
    );
  }
  return {
    json: body.slice(inner.start, inner.end),
    signature: new Uint8Array(Buffer.from(sigHex, 'hex')),
  };
}
