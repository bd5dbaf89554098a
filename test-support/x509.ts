/** The x509 builder for tests (@peculiar/x509 with its polyfill and Node's WebCrypto), from the attester that ships it. */
export { x509 } from '@ratls/attester/x509';
