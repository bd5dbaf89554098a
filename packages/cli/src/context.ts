/** What every command gets: output sinks (injectable for tests) and the exit code it sets. */
export interface CommandContext {
  out: (line: string) => void;
  err: (line: string) => void;
  exitCode: number;
}

/** commander helper for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
