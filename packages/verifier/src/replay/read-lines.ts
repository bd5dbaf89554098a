/**
 * Splits a byte stream into lines with a bound on each line: an audit file is operator input that
 * may be corrupted or foreign, so an endless line is reported (as `tooLong`) and skipped instead of
 * being buffered without limit.
 */

export interface BoundedLine {
  /** 1-based line number. */
  n: number;
  text: string;
  /** True when the line exceeded the bound; `text` is then empty. */
  tooLong: boolean;
}

/**
 * @example for await (const l of boundedLines(createReadStream('audit.jsonl'), 65536)) if (!l.tooLong) use(l.text)
 */
export async function* boundedLines(
  chunks: AsyncIterable<Uint8Array | string>,
  maxBytes: number,
): AsyncGenerator<BoundedLine> {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let parts: Buffer[] = [];
  let size = 0;
  let overflow = false;
  let n = 0;
  const finish = (): BoundedLine => {
    n += 1;
    const line: BoundedLine = overflow
      ? { n, text: '', tooLong: true }
      : { n, text: decoder.decode(Buffer.concat(parts)).replace(/\r$/, ''), tooLong: false };
    parts = [];
    size = 0;
    overflow = false;
    return line;
  };
  for await (const chunk of chunks) {
    let buf =
      typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a)) {
      if (!overflow && size + i <= maxBytes) parts.push(buf.subarray(0, i));
      else overflow = true;
      yield finish();
      buf = buf.subarray(i + 1);
    }
    if (buf.length === 0) continue;
    if (!overflow && size + buf.length <= maxBytes) {
      parts.push(Buffer.from(buf));
      size += buf.length;
    } else {
      overflow = true;
      parts = [];
      size = 0;
    }
  }
  if (size > 0 || overflow) yield finish();
}
