/**
 * The operational log of the gateway (primary and workers) and of `ratls client`: reloads, limits,
 * backend failures, startup warnings, ready and shutdown lines. One JSON object per line on stderr,
 * written by pino with the field names operators' pipelines already read: `level` as a label
 * (`"warn"`, not pino's 40), `time` as ISO 8601, `msg`, then the call's own fields. Audit events
 * are not logs and never come through here (audit-writer.ts).
 */
import pino, { type DestinationStream, type Logger } from 'pino';

/** The levels an operator can choose, least to most severe. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The environment variable that carries the chosen level to forked cluster workers (they are
 * started before they read any configuration of their own).
 */
export const LOG_LEVEL_ENV = 'RATLS_LOG_LEVEL';

/** One operational log line (not an audit event): reloads, limits, backend failures. */
export type GatewayLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/**
 * True when `s` names a level of LOG_LEVELS.
 * @example isLogLevel('warn') // true
 */
export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

/**
 * A pino logger writing the ratls line format to `destination` (default: stderr, synchronously,
 * so the last lines before an exit are not lost in a buffer).
 * @example const l = createOperationalLogger('warn'); l.warn({ listener: 'api' }, 'limit hit')
 */
export function createOperationalLogger(level: LogLevel = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      // No pid/hostname: the fields stay those the hand-written lines had; a supervisor adds its own.
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

const envLevel = process.env[LOG_LEVEL_ENV];
let level: LogLevel = envLevel !== undefined && isLogLevel(envLevel) ? envLevel : 'info';
const logger = createOperationalLogger(level);

/**
 * Sets the level of the process's operational log (and of logs made by operationalLog later);
 * lines below it are dropped.
 * @example setLogLevel('warn') // `--log-level warn`
 */
export function setLogLevel(l: LogLevel): void {
  level = l;
  logger.level = l;
}

/**
 * The level of the process's operational log (passed on to forked workers).
 * @example cluster.fork({ [LOG_LEVEL_ENV]: logLevel() })
 */
export function logLevel(): LogLevel {
  return level;
}

/** A level-filtered log and the lifecycle lines that pass whatever the level. */
export interface OperationalLog {
  log: GatewayLog;
  /**
   * Ready and shutdown lines: a supervisor (or a test) waits for them, so `--log-level error`
   * must not hide them. Written at `info`.
   */
  lifecycle: (msg: string, fields?: Record<string, unknown>) => void;
}

function wrap(l: Logger, always: Logger): OperationalLog {
  return {
    log: (lv, msg, fields = {}) => l[lv](fields, msg),
    lifecycle: (msg, fields = {}) => always.info(fields, msg),
  };
}

// A second logger, fixed at info, for the lifecycle lines: a pino child follows its parent's
// level when that changes, so a child cannot be the always-on path.
const processLog = wrap(logger, createOperationalLogger('info'));

/**
 * The operational log on stderr, or, with `write`, the same JSON lines handed to `write` one at a
 * time without their newline (a CLI context's error stream, an embedding application).
 * @example const { log, lifecycle } = operationalLog(); lifecycle('ratls gateway ready: api=127.0.0.1:8443')
 */
export function operationalLog(write?: (line: string) => void): OperationalLog {
  if (!write) return processLog;
  const dest = { write: (s: string) => write(s.replace(/\n$/, '')) };
  return wrap(createOperationalLogger(level, dest), createOperationalLogger('info', dest));
}

/**
 * The process's operational log: JSON lines on stderr through pino.
 * @example defaultLog('warn', 'limit hit: idle_timeout', { listener: 'api' })
 */
export const defaultLog: GatewayLog = processLog.log;
