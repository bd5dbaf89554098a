/** What the gateway config tests share: the file the configs are read as, and the refusal check. */
import assert from 'node:assert/strict';
import { ConfigError } from '@ratls/evidence';
import { parseGatewayConfig } from './config.js';

/** Where each test's config text claims to come from (relative paths resolve against its folder). */
export const SRC = '/etc/ratls/gateway.yaml';

/**
 * The message of the `ConfigError` (ERR_GATEWAY_CONFIG) that `text` is refused with; fails the
 * test if the config is accepted or refused any other way.
 * @example assert.match(refuse('version: 2\n'), /version/)
 */
export function refuse(text: string): string {
  try {
    parseGatewayConfig(text, SRC);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.code, 'ERR_GATEWAY_CONFIG');
    return e.message;
  }
  assert.fail('config was accepted');
}
