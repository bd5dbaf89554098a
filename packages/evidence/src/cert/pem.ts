/**
 * PEM text of a public key as mbedTLS/OpenSSL write it (`-----BEGIN PUBLIC KEY-----`, 64-column
 * base64, trailing newline). Open Enclave hashes this text including its terminating NUL.
 */
export function spkiPem(spkiDer: Uint8Array): string {
  const b64 = Buffer.from(spkiDer.buffer, spkiDer.byteOffset, spkiDer.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

/** The PEM bytes followed by one NUL, as OE passes `public_key_size = strlen + 1`. */
export function spkiPemWithNul(spkiDer: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(spkiPem(spkiDer));
  const out = new Uint8Array(text.length + 1);
  out.set(text);
  return out;
}
