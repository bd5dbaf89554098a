/**
 * The console's admin routes: GET /console (the page), /console/app.js and /console/app.css (its
 * only assets), /console/state.json (summary, recent decisions, health) and /console/events
 * (Server-Sent Events). Read-only; admin.ts has already checked Host/Origin and the bearer token.
 */
import type http from 'node:http';
import { CONSOLE_CSS, CONSOLE_ICON, CONSOLE_JS, consolePage } from './assets.js';
import type { ConsoleHub, ConsoleMessage } from './hub.js';

/** Every console answer: nothing but the gateway's own assets, never framed, never cached. */
export const CONSOLE_HEADERS: http.OutgoingHttpHeaders = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

/** Concurrent event streams: a handful of people on call, not a crowd of tabs. */
export const MAX_EVENT_STREAMS = 16;
/** A stream whose reader lags this far behind is dropped instead of buffered without end. */
export const MAX_STREAM_BACKLOG_BYTES = 4 * 1024 * 1024;
const KEEPALIVE_MS = 15_000;

export interface ConsoleDeps {
  hub: ConsoleHub;
  /** The /healthz body (collateral freshness, policies); no secrets in it. */
  health: () => Record<string, unknown>;
  /** Unix ms, for "time left" in the page. */
  now: () => number;
}

const isConsolePath = (p: string): boolean => p === '/console' || p.startsWith('/console/');

function sse(res: http.ServerResponse, event: string, data: unknown): void {
  // JSON.stringify never emits a raw newline, so one `data:` line carries the whole message.
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * Answers a console request; false when `path` is not the console's (the caller goes on routing).
 * @example if (deps.console && serveConsole(req, res, path, deps.console)) return;
 */
export function serveConsole(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  deps: ConsoleDeps,
): boolean {
  if (!isConsolePath(path)) return false;
  const send = (type: string, body: string) =>
    res.writeHead(200, { ...CONSOLE_HEADERS, 'content-type': type }).end(req.method === 'HEAD' ? undefined : body);
  if (path === '/console' || path === '/console/') {
    send('text/html; charset=utf-8', consolePage());
  } else if (path === '/console/app.js') {
    send('text/javascript; charset=utf-8', CONSOLE_JS);
  } else if (path === '/console/app.css') {
    send('text/css; charset=utf-8', CONSOLE_CSS);
  } else if (path === '/console/favicon.svg') {
    send('image/svg+xml', CONSOLE_ICON);
  } else if (path === '/console/state.json') {
    send('application/json', JSON.stringify(snapshot(deps)));
  } else if (path === '/console/events') {
    streamEvents(req, res, deps);
  } else {
    res.writeHead(404, { ...CONSOLE_HEADERS, 'content-type': 'application/json' }).end('{"error":"not found"}');
  }
  return true;
}

/** Everything the page shows, at once: for state.json and the stream's `hello`. */
function snapshot(deps: ConsoleDeps): Record<string, unknown> {
  const at = deps.now();
  return {
    summary: deps.hub.summary(),
    recent: deps.hub.recent(),
    health: deps.health(),
    waivers: deps.hub.waivers(at),
    at,
  };
}

function streamEvents(req: http.IncomingMessage, res: http.ServerResponse, deps: ConsoleDeps): void {
  if (deps.hub.subscribers >= MAX_EVENT_STREAMS) {
    res.writeHead(503, { ...CONSOLE_HEADERS, 'retry-after': '10' }).end();
    return;
  }
  res.writeHead(200, { ...CONSOLE_HEADERS, 'content-type': 'text/event-stream', connection: 'keep-alive' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // Long-lived by design: the admin server's request timeout must not cut the stream.
  req.socket.setTimeout(0);
  res.write('retry: 2000\n\n');
  sse(res, 'hello', snapshot(deps));
  const unsubscribe = deps.hub.subscribe((m: ConsoleMessage) => {
    if (res.writableLength > MAX_STREAM_BACKLOG_BYTES) {
      res.destroy();
      return;
    }
    if (m.kind === 'decision') sse(res, 'decision', m.entry);
    else {
      sse(res, 'summary', m.summary);
      sse(res, 'health', deps.health());
      sse(res, 'waivers', deps.hub.waivers(deps.now()));
    }
  });
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS).unref();
  res.on('close', () => {
    clearInterval(keepalive);
    unsubscribe();
  });
}
