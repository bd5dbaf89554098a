export type { ProviderFs } from './fs.js';
export { nodeProviderFs } from './fs.js';
export { GramineQuoteProvider, type GramineQuoteProviderOptions, MAX_QUOTE_BYTES } from './gramine.js';
export {
  ConfigfsTsmProvider,
  type ConfigfsTsmOptions,
  type ConfigfsTsmProviderOptions,
  type TsmTee,
  MAX_AUXBLOB_BYTES,
  MAX_OUTBLOB_BYTES,
  MAX_PRIVLEVEL,
  tsmReportDir,
} from './configfs-tsm.js';
export { detectQuoteProvider, type DetectOptions } from './detect.js';
export * from './nitro-nsm.js';
