/**
 * HTTP/1.1 reverse proxying for accepted, attested connections. The gateway frames every request
 * it forwards itself (http/forward.ts), normalizes its path under the configured base
 * (http/normalize-target.ts), refuses ambiguous framing (http/framing.ts) and removes every
 * spelling of the identity, forwarding and hop-by-hop headers (http/headers.ts).
 *
 * @example
 * import { createHttpForwardServer } from './http-forward.js';
 * const { server } = createHttpForwardServer(opts); server.emit('connection', acceptedSocket);
 */

export { BUFFER_BYTES, type HttpForwarder, MAX_HEADERS } from './http/forward.js';
export { type ClientBody, decideFraming, type FramingDecision } from './http/framing.js';
export {
  canonicalHeaderName,
  forwardRequestHeaders,
  forwardResponseHeaders,
  type HeaderMap,
  RATLS_HEADER_PREFIX,
} from './http/headers.js';
export { basePathOf, normalizeTarget, removeDotSegments } from './http/normalize-target.js';
export { HTTP_REFUSALS, type HttpRefusal, type HttpRefusalReason } from './http/refusal.js';
export { createHttpForwardServer, type HttpForwardServerOptions, MAX_HEADER_BYTES } from './http/server.js';
