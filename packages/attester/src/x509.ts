/**
 * The single import point for @peculiar/x509 in ratls: it needs the reflect-metadata polyfill
 * loaded first, and a WebCrypto provider (Node's).
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
