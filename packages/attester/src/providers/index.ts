export {
  type ConfigfsTsmOptions,
  ConfigfsTsmProvider,
  type ConfigfsTsmProviderOptions,
  MAX_AUXBLOB_BYTES,
  MAX_OUTBLOB_BYTES,
  MAX_PRIVLEVEL,
  type TsmTee,
  tsmReportDir,
} from './configfs-tsm.js';
export { type DetectOptions, detectQuoteProvider } from './detect.js';
export type { ProviderFs } from './fs.js';
export { nodeProviderFs } from './fs.js';
export { GramineQuoteProvider, type GramineQuoteProviderOptions, MAX_QUOTE_BYTES } from './gramine.js';
export { checkReportData } from './io.js';
export * from './nitro-nsm.js';
