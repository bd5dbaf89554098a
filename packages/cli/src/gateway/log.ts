/** The gateway's operational log: reloads, limits, backend failures (audit events go elsewhere). */

/** One operational log line (not an audit event): reloads, limits, backend failures. */
export type GatewayLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/**
 * JSON lines on stderr, one object per line.
 * @example defaultLog('warn', 'limit hit: idle_timeout', { listener: 'api' })
 */
export const defaultLog: GatewayLog = (level, msg, fields = {}) => {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
};
