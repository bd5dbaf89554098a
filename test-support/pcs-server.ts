/**
 * Test-only: a PCS/PCCS look-alike on 127.0.0.1 that serves collateral the way Intel PCS API v4
 * does (JSON bodies, URL-encoded issuer chains in headers, DER CRLs). Private to @ratls/test-support.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromHex } from '@ratls/evidence';
import type { QuoteCollateralV3Json } from '@ratls/verifier';

export interface PcsFixture {
  tee: 'sgx' | 'tdx';
  /** Lower-case hex. */
  fmspc: string;
  tcbInfoBody: string;
  tcbInfoChain: string;
  qeIdentityBody: string;
  qeIdentityChain: string;
  pckCrl: Uint8Array;
  pckCrlChain: string;
  /** PCCS returns the Root CA CRL as hex text or DER. */
  rootCaCrl: Uint8Array | string;
  /** Served for `update=early` requests of TCB info and QE identity (default: standard). */
  update?: 'standard' | 'early';
  /** The signed TCB evaluation data numbers (`…/v4/tcbevaluationdatanumbers`); 404 when absent. */
  tcbEvalNumbers?: { body: string; issuerChainPem: string };
}

/** Wraps a QuoteCollateralV3 case back into PCS responses (exact signed strings kept). */
export function fixtureFromCase(c: QuoteCollateralV3Json): PcsFixture {
  const tcb = JSON.parse(c.tcb_info) as { id?: string; fmspc: string };
  return {
    tee: tcb.id === 'TDX' ? 'tdx' : 'sgx',
    fmspc: tcb.fmspc.toLowerCase(),
    tcbInfoBody: `{"tcbInfo":${c.tcb_info},"signature":"${c.tcb_info_signature}"}`,
    tcbInfoChain: c.tcb_info_issuer_chain,
    qeIdentityBody: `{"enclaveIdentity":${c.qe_identity},"signature":"${c.qe_identity_signature}"}`,
    qeIdentityChain: c.qe_identity_issuer_chain,
    pckCrl: fromHex(c.pck_crl),
    pckCrlChain: c.pck_crl_issuer_chain,
    rootCaCrl: c.root_ca_crl,
  };
}

/** Return true when the request was handled (the default routes are then skipped). */
export type Override = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;

export interface PcsServer {
  url: string;
  hits: string[];
  override: Override | undefined;
  /** Requests so far whose path and query contain `part` (the stand-in counts every request). */
  count(part: string): number;
  close(): Promise<void>;
}

export async function startPcsServer(fixtures: PcsFixture[], prefix = ''): Promise<PcsServer> {
  const state: PcsServer = {
    url: '',
    hits: [],
    override: undefined,
    count: (part) => state.hits.filter((h) => h.includes(part)).length,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    state.hits.push(u.pathname + u.search);
    if (!u.pathname.startsWith(`${prefix}/`)) return void res.writeHead(404).end();
    const path = u.pathname.slice(prefix.length);
    if (state.override?.(req, res, path)) return;
    const m = /^\/(sgx|tdx)\/certification\/v4\/(tcb|qe\/identity|pckcrl|rootcacrl|tcbevaluationdatanumbers)$/.exec(
      path,
    );
    if (!m) return void res.writeHead(404).end();
    const tee = m[1] as 'sgx' | 'tdx';
    const fmspc = (u.searchParams.get('fmspc') ?? '').toLowerCase();
    const update = u.searchParams.get('update') === 'early' ? 'early' : 'standard';
    const ofUpdate = fixtures.filter((f) => (f.update ?? 'standard') === update);
    const fx =
      m[2] === 'tcb'
        ? ofUpdate.find((f) => f.tee === tee && f.fmspc === fmspc)
        : (ofUpdate.find((f) => f.tee === tee) ?? ofUpdate[0]);
    if (!fx) return void res.writeHead(404).end();
    const enc = encodeURIComponent;
    switch (m[2]) {
      case 'tcbevaluationdatanumbers':
        if (!fx.tcbEvalNumbers) return void res.writeHead(404).end();
        res.writeHead(200, {
          'content-type': 'application/json',
          'TCB-Evaluation-Data-Numbers-Issuer-Chain': enc(fx.tcbEvalNumbers.issuerChainPem),
        });
        return void res.end(fx.tcbEvalNumbers.body);
      case 'tcb':
        res.writeHead(200, { 'content-type': 'application/json', 'TCB-Info-Issuer-Chain': enc(fx.tcbInfoChain) });
        return void res.end(fx.tcbInfoBody);
      case 'qe/identity':
        res.writeHead(200, {
          'content-type': 'application/json',
          'SGX-Enclave-Identity-Issuer-Chain': enc(fx.qeIdentityChain),
        });
        return void res.end(fx.qeIdentityBody);
      case 'pckcrl':
        res.writeHead(200, { 'content-type': 'application/pkix-crl', 'SGX-PCK-CRL-Issuer-Chain': enc(fx.pckCrlChain) });
        return void res.end(fx.pckCrl);
      default:
        res.writeHead(200, { 'content-type': 'application/x-pem-file' });
        return void res.end(fx.rootCaCrl);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

/** One route of the KDS stand-in: the exact path and query, and what it answers. */
export interface KdsRoute {
  body: Uint8Array | string;
  contentType: string;
}

/**
 * Test-only AMD KDS look-alike on 127.0.0.1: exact-path routes (VCEK, cert_chain, CRL), every
 * request counted in `hits`, `override` to answer 429 or hang.
 */
export async function startKdsServer(routes: Record<string, KdsRoute>): Promise<PcsServer> {
  const state: PcsServer = {
    url: '',
    hits: [],
    override: undefined,
    count: (part) => state.hits.filter((h) => h.includes(part)).length,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    state.hits.push(path);
    if (state.override?.(req, res, path)) return;
    const r = routes[path];
    if (!r) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': r.contentType });
    res.end(r.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
