export {
  COSE_ALG_ES384,
  NITRO_MAX_CABUNDLE,
  NITRO_MAX_CERT,
  NITRO_MAX_DOCUMENT,
  NITRO_MAX_OPTIONAL_FIELD,
} from './limits.js';
export { parseNitroDocument } from './parse.js';
export { nitroDocumentFromText } from './text.js';
export type { NitroDocument } from './types.js';
