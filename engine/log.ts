/**
 * Log lines in Redis's format: `pid:role dd Mon yyyy hh:mm:ss.mmm <level> message`, where level is
 * `.` debug, `-` verbose, `*` notice, `#` warning and role is M (master). Honours `loglevel` and
 * `logfile` (empty = standard output). Tools that parse Redis logs read ours unchanged.
 */
import { appendFileSync } from 'node:fs';
import type { Config } from './config.js';

const LEVELS = { debug: 0, verbose: 1, notice: 2, warning: 3, nothing: 4 } as const;
const MARK = { debug: '.', verbose: '-', notice: '*', warning: '#' } as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export type Level = keyof typeof MARK;

export function formatLogLine(level: Level, msg: string, role = 'M', at = new Date()): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const ts = `${p2(at.getDate())} ${MONTHS[at.getMonth()]} ${at.getFullYear()} ${p2(at.getHours())}:${p2(at.getMinutes())}:${p2(at.getSeconds())}.${String(at.getMilliseconds()).padStart(3, '0')}`;
  return `${process.pid}:${role} ${ts} ${MARK[level]} ${msg}`;
}

export class Logger {
  /** Extra sinks (tests capture lines here). */
  readonly taps: Array<(line: string) => void> = [];
  constructor(private readonly config: Config) {}

  log(level: Level, msg: string): void {
    const configured = (this.config.get('loglevel') ?? 'notice') as keyof typeof LEVELS;
    if (LEVELS[level] < LEVELS[configured]) return;
    const line = formatLogLine(level, msg);
    for (const t of this.taps) t(line);
    const file = this.config.get('logfile') ?? '';
    if (file === '') process.stdout.write(line + '\n');
    else {
      try { appendFileSync(file, line + '\n'); } catch { process.stderr.write(line + '\n'); }
    }
  }
}
