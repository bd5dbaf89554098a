/** Channel-mode options shared by the server and client wrappers. */
import type { ChannelAttester } from '@ratls/evidence';

export const DEFAULT_CHANNEL_TIMEOUT_MS = 5_000;

export interface ChannelOptions {
  /**
   * Answers the peer's challenges with fresh evidence (`createChannelAttester({ provider })` from
   * @ratls/attester). Needed when the peer's policy is `freshness: channel` for us.
   */
  attester?: ChannelAttester;
  /** Require channel-bound evidence of every peer, whatever the policy says (default: the policy decides). */
  require?: boolean;
  /** From the end of the certificate decision to the end of the exchange (default 5 s). */
  timeoutMs?: number;
  /** Bound of one channel frame (default 64 KiB, at most 1 MiB). */
  maxFrameBytes?: number;
}
