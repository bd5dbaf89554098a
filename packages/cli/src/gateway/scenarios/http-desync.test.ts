/**
 * Request smuggling and normalization attacks against a real gateway (stand-in certificate
 * verifier, real policy, audit and forwarding) and a raw keep-alive backend that parses requests
 * itself. Each test writes raw bytes over the attested TLS socket and asserts that the backend
 * received exactly one request per client request, framed by the gateway and carrying only the
 * gateway's identity headers, or that the gateway refused with a specific status and reason and
 * audited the refusal.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  opensslCert,
  scenarioCollateral,
  scenarioOptions,
  tempDir,
  verifierByCn,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import {
  type RawBackend,
  type RawResponse,
  rawBackend,
  rawClient,
  type SeenRequest,
} from '@ratls/test-support/http-desync-kit';
import { fakeSgxResult } from '@ratls/test-support/tls-testkit';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

const LOW = 'aa'.repeat(32);
const ADMIN = 'bb'.repeat(32);
const MAX_BODY = 256 * 1024;

const verify = verifierByCn({ low: fakeSgxResult(LOW), admin: fakeSgxResult(ADMIN) });

const header = (r: SeenRequest, name: string) => r.headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);

describe('HTTP forwarding: desync and normalization attacks', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let backend: RawBackend;
  let gw: Gateway;
  let certs: Record<'server' | 'low' | 'admin', { cert: string; key: string }>;
  const events: AuditEvent[] = [];

  before(async () => {
    const dir = tempDir('ratls-desync-');
    certs = {
      server: opensslCert(dir, 'server', '127.0.0.1'),
      low: opensslCert(dir, 'low'),
      admin: opensslCert(dir, 'admin'),
    };
    backend = await rawBackend();
    const { path: collateral, now } = scenarioCollateral();
    writeFile(
      dir,
      'policy.yaml',
      `version: 1\ndefaults:\n  simulated: true\nidentities:\n  - name: low-priv\n    sgx: { mrEnclave: ["${LOW}"] }\n  - name: payments-admin\n    sgx: { mrEnclave: ["${ADMIN}"] }\n`,
    );
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust:
  collateral: ${collateral}
policy: ./policy.yaml
limits: { handshakeTimeoutMs: 1500, drainTimeoutMs: 500 }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward:
      http: "http://127.0.0.1:${backend.port}/base"
      stripHeaders: [X-Internal-Token]
      maxBodyBytes: ${MAX_BODY}
`,
    );
    gw = await startGateway(
      join(dir, 'gateway.yaml'),
      scenarioOptions(events, () => now, { verify }),
    );
  });

  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  const port = () => gw.addresses().api?.port as number;
  const requestEvents = () => events.filter((e) => e.event.action === 'ratls-http-request');
  const settle = () => new Promise((r) => setTimeout(r, 30));

  /** Sends `bytes` as `who`, waits for `n` responses; returns them with the backend requests they caused. */
  async function exchange(
    bytes: string | Buffer,
    n = 1,
    opts: { who?: 'low' | 'admin'; noBody?: (i: number) => boolean } = {},
  ): Promise<{ responses: RawResponse[]; seen: SeenRequest[]; audit: AuditEvent[]; closed: boolean }> {
    const seenBefore = backend.requests.length;
    const auditBefore = requestEvents().length;
    const c = await rawClient(port(), certs[opts.who ?? 'low']);
    c.write(bytes);
    const responses = await c.responses(n, opts.noBody ? { noBody: opts.noBody } : {});
    await settle();
    const closed = c.closed();
    c.close();
    return {
      responses,
      seen: backend.requests.slice(seenBefore),
      audit: requestEvents().slice(auditBefore),
      closed,
    };
  }

  /** Exactly one refusal: status, reason in the body and in a request audit event; the backend saw nothing. */
  async function assertRefused(bytes: string, status: number, reason: string) {
    const r = await exchange(bytes);
    assert.equal(r.responses.length, 1, `one response to ${JSON.stringify(bytes.slice(0, 60))}`);
    assert.equal(r.responses[0]?.status, status, r.responses[0]?.body);
    assert.equal((JSON.parse(r.responses[0]?.body ?? '{}') as { reason?: string }).reason, reason);
    assert.equal(r.seen.length, 0, 'backend received nothing');
    assert.equal(
      r.audit.length,
      1,
      `one request audit event: ${JSON.stringify(r.audit.map((e) => [e.event.reason, e.error?.message]))}`,
    );
    assert.equal(r.audit[0]?.event.reason, reason);
    assert.equal(r.audit[0]?.event.outcome, 'failure');
    assert.equal(r.audit[0]?.http?.response?.status_code, status);
    assert.equal(r.audit[0]?.attestation?.identity, 'low-priv');
    assert.equal(r.closed, true, 'connection closed after a refusal');
    assert.deepEqual(backend.errors, []);
  }

  /** The backend got exactly this one request, with the gateway's framing and identity only. */
  function assertOneGatewayRequest(seen: SeenRequest[], path: string, body: string, identity = 'low-priv') {
    assert.equal(seen.length, 1, `backend requests: ${seen.map((s) => `${s.method} ${s.target}`).join(', ')}`);
    const s = seen[0] as SeenRequest;
    assert.equal(s.target, path);
    assert.equal(s.body.toString('latin1'), body);
    assert.deepEqual(header(s, 'x-ratls-identity'), [identity]);
    const names = s.headers.map(([k]) => k.toLowerCase());
    assert.ok(!names.some((k) => k.includes('_')), `no underscore header names: ${names.join(',')}`);
    if (body.length > 0 && !s.chunked) assert.deepEqual(header(s, 'content-length'), [String(body.length)]);
    if (body.length === 0)
      assert.deepEqual(
        header(s, 'content-length').filter((v) => v !== '0'),
        [],
      );
    assert.deepEqual(backend.errors, []);
  }

  describe('reviewer regressions', () => {
    it('a GET body smuggling a request with x-ratls-identity: payments-admin stays one request', async () => {
      const smuggled = 'GET /admin HTTP/1.1\r\nHost: b\r\nx-ratls-identity: payments-admin\r\n\r\n';
      const r = await exchange(
        `GET /a HTTP/1.1\r\nHost: b\r\nContent-Length: ${smuggled.length}\r\nConnection: content-length\r\n\r\n${smuggled}`,
      );
      assert.equal(r.responses.length, 1);
      assert.equal(r.responses[0]?.status, 200);
      assertOneGatewayRequest(r.seen, '/base/a', smuggled);
      assert.ok(!backend.requests.some((s) => header(s, 'x-ratls-identity').includes('payments-admin')));
      assert.equal(r.audit.length, 1);
      assert.equal(r.audit[0]?.url?.path, '/base/a');
    });

    it("an unterminated smuggled prefix cannot capture the next client's request", async () => {
      const prefix = 'GET /capture HTTP/1.1\r\nHost: b\r\nContent-Length: 400\r\n\r\n';
      const first = await exchange(
        `GET /a HTTP/1.1\r\nHost: b\r\nContent-Length: ${prefix.length}\r\nConnection: content-length\r\n\r\n${prefix}`,
      );
      assertOneGatewayRequest(first.seen, '/base/a', prefix);
      const second = await exchange('GET /next HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer admin-secret\r\n\r\n', 1, {
        who: 'admin',
      });
      assert.equal(second.responses[0]?.status, 200);
      assertOneGatewayRequest(second.seen, '/base/next', '', 'payments-admin');
      assert.deepEqual(header(second.seen[0] as SeenRequest, 'authorization'), ['Bearer admin-secret']);
      assert.ok(!backend.requests.some((s) => s.target === '/capture' || s.target === '/base/capture'));
      assert.ok(!backend.requests.some((s) => s.body.toString('latin1').includes('admin-secret')));
    });
  });

  describe('framing', () => {
    it('TE.CL is refused', () =>
      assertRefused(
        'POST /a HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n',
        400,
        'te_and_cl',
      ));
    it('CL.TE is refused', () =>
      assertRefused(
        'POST /a HTTP/1.1\r\nHost: b\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG',
        400,
        'te_and_cl',
      ));
    for (const [te, status, reason] of [
      ['chunked, identity', 400, 'invalid_transfer_encoding'],
      ['identity', 400, 'invalid_transfer_encoding'],
      ['xchunked', 400, 'invalid_transfer_encoding'],
      ['chunked, chunked', 400, 'invalid_transfer_encoding'],
      ['gzip, chunked', 501, 'unsupported_transfer_coding'],
    ] as const) {
      it(`Transfer-Encoding: ${te} is refused (${status} ${reason})`, () =>
        assertRefused(
          `POST /a HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: ${te}\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
          status,
          reason,
        ));
    }
    it('two Transfer-Encoding fields are refused', () =>
      assertRefused(
        'POST /a HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
        'invalid_transfer_encoding',
      ));
    it('Transfer-Encoding in HTTP/1.0 is refused', () =>
      assertRefused('POST /a HTTP/1.0\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'te_in_http10'));
    it('duplicate and list Content-Length are refused', async () => {
      await assertRefused(
        'POST /a HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
        400,
        'duplicate_content_length',
      );
      await assertRefused('POST /a HTTP/1.1\r\nHost: b\r\nContent-Length: 3, 3\r\n\r\nabc', 400, 'bad_content_length');
      await assertRefused('POST /a HTTP/1.1\r\nHost: b\r\nContent-Length: +3\r\n\r\nabc', 400, 'bad_content_length');
    });
    it('obs-fold and a space before the colon are refused', async () => {
      await assertRefused(
        'GET /a HTTP/1.1\r\nHost: b\r\nX-A: 1\r\n x-ratls-identity: payments-admin\r\n\r\n',
        400,
        'malformed_header',
      );
      await assertRefused(
        'POST /a HTTP/1.1\r\nHost: b\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
        400,
        'malformed_header',
      );
    });
    for (const te of ['Chunked', ' chunked', '\tchunked', 'CHUNKED']) {
      it(`Transfer-Encoding: ${JSON.stringify(te)} is chunked and reframed with content-length`, async () => {
        const r = await exchange(`POST /a HTTP/1.1\r\nHost: b\r\nTransfer-Encoding:${te}\r\n\r\n3\r\nabc\r\n0\r\n\r\n`);
        assert.equal(r.responses[0]?.status, 200);
        assertOneGatewayRequest(r.seen, '/base/a', 'abc');
        assert.equal(r.seen[0]?.chunked, false);
      });
    }
    it('chunk extensions are not forwarded', async () => {
      const r = await exchange(
        'POST /a HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n3;name=value\r\nabc\r\n0\r\n\r\n',
      );
      assertOneGatewayRequest(r.seen, '/base/a', 'abc');
      assert.ok(!r.seen[0]?.raw.toString('latin1').includes('name='));
    });
    it('Connection: content-length and Connection: transfer-encoding cannot remove the framing', async () => {
      const a = await exchange(
        'POST /a HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\nConnection: content-length, host\r\n\r\nabc',
      );
      assertOneGatewayRequest(a.seen, '/base/a', 'abc');
      assert.deepEqual(header(a.seen[0] as SeenRequest, 'host'), ['b']);
      const t = await exchange(
        'POST /a HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\nConnection: transfer-encoding, x-ratls-identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      );
      assertOneGatewayRequest(t.seen, '/base/a', 'abc');
    });
    for (const method of ['GET', 'DELETE', 'OPTIONS', 'HEAD']) {
      it(`a body on ${method} is forwarded with the gateway's content-length`, async () => {
        const body = 'GET /admin HTTP/1.1\r\nHost: b\r\n\r\n';
        const r = await exchange(
          `${method} /a HTTP/1.1\r\nHost: b\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
          1,
          {
            noBody: () => method === 'HEAD',
          },
        );
        assert.equal(r.responses[0]?.status, 200);
        assertOneGatewayRequest(r.seen, '/base/a', body);
        assert.equal(r.seen[0]?.method, method);
      });
    }
    it('GET and HEAD without a body send no body and no framing header', async () => {
      const r = await exchange('GET /a HTTP/1.1\r\nHost: b\r\n\r\nHEAD /a HTTP/1.1\r\nHost: b\r\n\r\n', 2, {
        noBody: (i) => i === 1,
      });
      assert.deepEqual(
        r.responses.map((x) => x.status),
        [200, 200],
      );
      assert.equal(r.seen.length, 2);
      for (const s of r.seen) {
        assert.deepEqual([...header(s, 'content-length'), ...header(s, 'transfer-encoding')], []);
        assert.equal(s.body.length, 0);
      }
    });
    it('pipelined requests become exactly as many backend requests, answered in order', async () => {
      const r = await exchange(
        'GET /p1 HTTP/1.1\r\nHost: b\r\n\r\nPOST /p2 HTTP/1.1\r\nHost: b\r\nContent-Length: 2\r\n\r\nhiGET /p3 HTTP/1.1\r\nHost: b\r\n\r\n',
        3,
      );
      assert.equal(r.responses.length, 3);
      assert.deepEqual(
        r.seen.map((s) => s.target),
        ['/base/p1', '/base/p2', '/base/p3'],
      );
      assert.deepEqual(
        r.responses.map((x) => (JSON.parse(x.body) as { n: number }).n),
        r.seen.map((s) => backend.requests.indexOf(s)),
      );
      assert.equal(r.audit.length, 3);
    });
    it('a large chunked body streams to the backend chunked; a large declared length streams with it', async () => {
      const big = 'x'.repeat(200 * 1024);
      const chunks = `${(64 * 1024).toString(16)}\r\n${big.slice(0, 64 * 1024)}\r\n${(136 * 1024).toString(16)}\r\n${big.slice(64 * 1024)}\r\n0\r\n\r\n`;
      const r = await exchange(`POST /big HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`);
      assert.equal(r.responses[0]?.status, 200);
      assert.equal(r.seen.length, 1);
      assert.equal(r.seen[0]?.chunked, true);
      assert.equal(r.seen[0]?.body.length, big.length);
      assert.equal(r.audit[0]?.http?.request.bytes, big.length);
      const l = await exchange(`PUT /big HTTP/1.1\r\nHost: b\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
      assertOneGatewayRequest(l.seen, '/base/big', big);
      assert.equal(l.seen[0]?.chunked, false);
    });
    it('bodies above maxBodyBytes are refused with 413, declared or chunked', async () => {
      await assertRefused(
        `POST /a HTTP/1.1\r\nHost: b\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`,
        413,
        'body_too_large',
      );
      const size = (MAX_BODY + 1024).toString(16);
      const r = await exchange(
        `POST /a HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\n${'y'.repeat(MAX_BODY + 1024)}\r\n0\r\n\r\n`,
      );
      assert.equal(r.responses[0]?.status, 413);
      assert.equal(r.audit.at(-1)?.event.reason, 'body_too_large');
      // Past the first 64 KiB the body streams, so the backend saw the start of a chunked request that
      // the gateway then cut off with its connection: aborted, never a complete request.
      assert.equal(r.seen.length, 0);
      // The backend sees the cut connection close on its own schedule (seen late under load): wait, bounded.
      for (let t = Date.now(); backend.aborted.length === 0 && Date.now() - t < 5_000; )
        await new Promise((res) => setTimeout(res, 25));
      assert.equal(backend.aborted.length, 1);
    });
    it('Expect: 100-continue gets 100 only for an acceptable request; other expectations get 417', async () => {
      const c = await rawClient(port(), certs.low);
      const seenBefore = backend.requests.length;
      c.write('POST /e HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n');
      const interim = await c.responses(0, { ms: 1000 });
      for (let i = 0; i < 50 && !c.text().includes('100 Continue'); i++) await new Promise((r) => setTimeout(r, 10));
      assert.match(c.text(), /^HTTP\/1\.1 100 Continue\r\n\r\n/);
      assert.equal(interim.length <= 1, true);
      c.write('abc');
      const rs = await c.responses(1);
      c.close();
      assert.equal(rs.at(-1)?.status, 200);
      const seen = backend.requests.slice(seenBefore);
      assertOneGatewayRequest(seen, '/base/e', 'abc');
      assert.deepEqual(header(seen[0] as SeenRequest, 'expect'), []);
      const bad = await exchange('POST /../x HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n');
      assert.equal(bad.responses[0]?.status, 400, 'no 100 before a refusal');
      assert.equal(bad.responses.length, 1);
      await assertRefused(
        'POST /a HTTP/1.1\r\nHost: b\r\nContent-Length: 0\r\nExpect: bogus\r\n\r\n',
        417,
        'expectation_unsupported',
      );
    });
    it('Upgrade (h2c, websocket) and CONNECT are refused', async () => {
      await assertRefused(
        'GET /a HTTP/1.1\r\nHost: b\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n',
        501,
        'upgrade_unsupported',
      );
      await assertRefused('GET /a HTTP/1.1\r\nHost: b\r\nUpgrade: h2c\r\n\r\n', 501, 'upgrade_unsupported');
      await assertRefused(
        'GET /a HTTP/1.1\r\nHost: b\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: x\r\n\r\n',
        501,
        'upgrade_unsupported',
      );
      await assertRefused('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n', 501, 'connect_unsupported');
    });
    it('absolute-form, duplicate Host and too many header fields are refused', async () => {
      await assertRefused('GET http://127.0.0.1/admin HTTP/1.1\r\nHost: b\r\n\r\n', 400, 'absolute_form');
      await assertRefused('GET /a HTTP/1.1\r\nHost: b\r\nHost: c\r\n\r\n', 400, 'duplicate_host');
      const many = Array.from({ length: 101 }, (_, i) => `X-H${i}: 1\r\n`).join('');
      await assertRefused(`GET /a HTTP/1.1\r\nHost: b\r\n${many}\r\n`, 431, 'too_many_headers');
      await assertRefused(
        `GET /a HTTP/1.1\r\nHost: b\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
        431,
        'headers_too_large',
      );
    });
  });

  describe('paths', () => {
    for (const [target, reason] of [
      ['/../admin', 'path_escapes_base'],
      ['/%2e%2e/admin', 'path_escapes_base'],
      ['/a/%2E%2E/%2e%2e/admin', 'path_escapes_base'],
      ['/a/.%2e/.%2E/admin', 'path_escapes_base'],
      ['/..;/admin', 'path_parameter_dot_segment'],
      ['/a/..;x=1/admin', 'path_parameter_dot_segment'],
      ['/a\\..\\admin', 'backslash'],
      ['/a%5c..%5cadmin', 'backslash'],
      ['/a%2F..%2Fadmin', 'encoded_slash'],
      ['/a%2f', 'encoded_slash'],
      ['/%252e%252e/admin', 'double_encoding'],
      ['/a%00', 'encoded_control'],
      ['/a%zz', 'bad_percent_encoding'],
      ['/%c0%ae%c0%ae/admin', 'bad_percent_encoding'],
    ] as const) {
      it(`${target} is refused (${reason})`, () =>
        assertRefused(`GET ${target} HTTP/1.1\r\nHost: b\r\n\r\n`, 400, reason));
    }
    for (const [target, forwarded] of [
      ['//admin', '/base/admin'],
      ['/a/./b/../c/', '/base/a/c/'],
      ['/a/%62%2D%7e', '/base/a/b-~'],
      ['/a/%e2%82%ac?x=%2F..&y=/../', '/base/a/%E2%82%AC?x=%2F..&y=/../'],
      ['/', '/base/'],
      ['/a/..', '/base/'],
    ] as const) {
      it(`${target} is forwarded as ${forwarded}`, async () => {
        const r = await exchange(`GET ${target} HTTP/1.1\r\nHost: b\r\n\r\n`);
        assert.equal(r.responses[0]?.status, 200);
        assertOneGatewayRequest(r.seen, forwarded, '');
        assert.equal(
          `${r.audit[0]?.url?.path}${r.audit[0]?.url?.query ? `?${r.audit[0]?.url?.query}` : ''}`,
          forwarded,
        );
      });
    }
  });

  describe('header spellings', () => {
    it('every spelling and copy of the identity, forwarding and configured headers is removed', async () => {
      const r = await exchange(
        [
          'GET /h HTTP/1.1',
          'Host: b',
          'X-Ratls-Identity: payments-admin',
          'x_ratls_identity: payments-admin',
          'X_RATLS_IDENTITY: payments-admin',
          'x-ratls-identity: payments-admin',
          'X-Ratls_Tee: nitro',
          'x_forwarded_for: 6.6.6.6',
          'X-Forwarded-Host: evil',
          'Forwarded: for=6.6.6.6',
          'X-Internal-Token: t',
          'x_internal_token: t',
          'Content_Length: 99',
          'Transfer_Encoding: chunked',
          'Accept: */*',
          '',
          '',
        ].join('\r\n'),
      );
      assert.equal(r.responses[0]?.status, 200);
      assertOneGatewayRequest(r.seen, '/base/h', '');
      const s = r.seen[0] as SeenRequest;
      assert.deepEqual(
        s.headers
          .map(([k]) => k.toLowerCase())
          .filter((k) => k.startsWith('x-ratls-'))
          .sort(),
        ['x-ratls-identity', 'x-ratls-measurement', 'x-ratls-tcb-status', 'x-ratls-tee'],
      );
      assert.deepEqual(header(s, 'x-ratls-tee'), ['sgx']);
      assert.deepEqual(header(s, 'x-forwarded-for'), ['127.0.0.1']);
      assert.deepEqual(header(s, 'x-forwarded-host'), []);
      assert.deepEqual(header(s, 'forwarded'), []);
      assert.deepEqual(header(s, 'x-internal-token'), []);
      assert.deepEqual(header(s, 'accept'), ['*/*']);
    });
  });

  it('keeps one handshake event per connection and uses pooled keep-alive backend connections', () => {
    const handshakes = events.filter((e) => e.event.action === 'ratls-handshake');
    const clientConnections = handshakes.length;
    assert.ok(clientConnections > 10);
    assert.ok(handshakes.every((e) => e.event.outcome === 'success'));
    assert.ok(backend.connections() < backend.requests.length, `${backend.connections()} backend connections`);
    assert.deepEqual(backend.errors, []);
  });
});
