import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sourceGroup, UNKNOWN_SOURCE } from './source-group.js';

describe('sourceGroup (per-source limit key)', () => {
  test('IPv4: one address is one source', () => {
    assert.equal(sourceGroup('127.0.0.1'), '127.0.0.1');
    assert.notEqual(sourceGroup('127.0.0.1'), sourceGroup('127.0.0.2'));
  });

  test('IPv6: addresses in one /64 share a group, another /64 does not', () => {
    assert.equal(sourceGroup('2001:db8::1'), sourceGroup('2001:db8::ffff:1'));
    assert.equal(sourceGroup('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(sourceGroup('2001:DB8:0:0:aaaa:bbbb:cccc:dddd'), '2001:db8:0:0::/64');
    assert.notEqual(sourceGroup('2001:db8::1'), sourceGroup('2001:db8:0:1::1'));
    assert.equal(sourceGroup('::1'), '0:0:0:0::/64');
  });

  test('IPv4-mapped IPv6 is the IPv4 address it maps (dotted or hex form)', () => {
    assert.equal(sourceGroup('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(sourceGroup('::ffff:7f00:2'), '127.0.0.2');
    assert.equal(sourceGroup('::FFFF:10.1.2.3'), '10.1.2.3');
  });

  test('a zone index does not make a new source; no address groups as unknown', () => {
    assert.equal(sourceGroup('fe80::1%eth0'), sourceGroup('fe80::2%lo'));
    assert.equal(sourceGroup(undefined), UNKNOWN_SOURCE);
    assert.equal(sourceGroup(''), UNKNOWN_SOURCE);
  });
});
