import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir, writeFile } from '@ratls/test-support/gateway-helpers';
import { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { registerGatewayCommand } from './run.js';

describe('registerGatewayCommand', () => {
  it('adds `gateway --config` and sets exit code 2 with a located error for a bad config', async () => {
    const dir = tempDir();
    try {
      writeFile(dir, 'g.yaml', 'version: 1\nbogus: true\n');
      const lines: string[] = [];
      const ctx: CommandContext = { out: (l) => lines.push(l), err: (l) => lines.push(l), exitCode: 0 };
      const program = new Command('ratls').exitOverride();
      registerGatewayCommand(program, ctx);
      await program.parseAsync(['node', 'ratls', 'gateway', '--config', join(dir, 'g.yaml')]);
      assert.equal(ctx.exitCode, 2);
      assert.match(
        lines.join('\n'),
        /ERR_GATEWAY_CONFIG: .*g\.yaml:1:1: trust: required, but missing[\s\S]*g\.yaml:2:1: unknown key 'bogus'/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('requires --config', async () => {
    const ctx: CommandContext = { out: () => undefined, err: () => undefined, exitCode: 0 };
    const program = new Command('ratls').exitOverride().configureOutput({ writeErr: () => undefined });
    registerGatewayCommand(program, ctx);
    await assert.rejects(program.parseAsync(['node', 'ratls', 'gateway']), /--config/);
  });
});
