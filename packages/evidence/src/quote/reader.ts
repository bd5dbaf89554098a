/**
 * Bounds-checked little-endian reader for quote structures. Every read checks the remaining
 * length first, so no RangeError from DataView can escape: overruns become EvidenceParseError
 * with the code the caller chose (ERR_QUOTE_TRUNCATED for the buffer, ERR_QUOTE_LENGTH for a
 * length-delimited region whose declared size is too small for its contents).
 */
import { EvidenceParseError } from '../errors.js';

/**
 * A plain Uint8Array view of `b`. Buffer (a Uint8Array subclass) overrides `slice` to return a
 * view, not a copy; parsed fields must never alias the caller's buffer.
 */
export function plainBytes(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export class QuoteReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    /** What this region is, for error messages ("quote", "signature data"). */
    private readonly what: string,
    /** Error code when a read runs past the end of this region. */
    private readonly overrunCode: 'ERR_QUOTE_TRUNCATED' | 'ERR_QUOTE_LENGTH' = 'ERR_QUOTE_TRUNCATED',
    /** Absolute offset of this region in the quote, for messages. */
    private readonly base = 0,
  ) {
    this.bytes = plainBytes(bytes);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(n: number, field: string): void {
    if (n > this.remaining) {
      throw new EvidenceParseError(
        this.overrunCode,
        'parse',
        `${this.what}: ${field} needs ${n} bytes at offset ${this.base + this.pos}, only ${this.remaining} left`,
      );
    }
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A copy of the next `n` bytes. */
  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A reader over the next `n` bytes; overruns inside it are ERR_QUOTE_LENGTH (its size field lied). */
  sub(n: number, field: string): QuoteReader {
    this.need(n, field);
    const r = new QuoteReader(
      this.bytes.subarray(this.pos, this.pos + n),
      `${this.what}: ${field}`,
      'ERR_QUOTE_LENGTH',
      this.base + this.pos,
    );
    this.pos += n;
    return r;
  }

  /** Fails unless every byte of this region was consumed (declared size larger than its contents). */
  expectEnd(): void {
    if (this.remaining !== 0) {
      throw new EvidenceParseError(
        'ERR_QUOTE_LENGTH',
        'parse',
        `${this.what}: ${this.remaining} unexpected bytes at offset ${this.base + this.pos} (declared size larger than contents)`,
      );
    }
  }
}
