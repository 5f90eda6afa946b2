/**
 * Log lines in Redis's format, so log scrapers written for redis-server keep working:
 *
 *   <pid>:<role> <dd Mon yyyy hh:mm:ss.mmm> <level mark> <message>
 *
 * role: M master, S replica, C before the server is up (Redis prints C until server.pid is set);
 * mark: '.' debug, '-' verbose, '*' notice, '#' warning. `logfile ""` writes to stdout; a path is
 * appended to (opened per line, as Redis does, so log rotation by rename works).
 */
import { appendFileSync } from 'node:fs';
import type { LogLevel } from './engine-port.js';

const LEVELS: Record<LogLevel | 'nothing', number> = { debug: 0, verbose: 1, notice: 2, warning: 3, nothing: 4 };
const MARKS: Record<LogLevel, string> = { debug: '.', verbose: '-', notice: '*', warning: '#' };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

export function formatLogTime(d: Date): string {
  const ms = d.getMilliseconds();
  return `${pad2(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}`;
}

export function isLogLevel(s: string): s is LogLevel | 'nothing' {
  return s in LEVELS;
}

export class RedisLog {
  level: LogLevel | 'nothing';
  file: string;
  role: 'M' | 'S' | 'C' = 'C';
  private readonly write: (line: string) => void;

  constructor(opts: { level?: string; file?: string; write?: (line: string) => void } = {}) {
    this.level = opts.level !== undefined && isLogLevel(opts.level) ? opts.level : 'notice';
    this.file = opts.file ?? '';
    this.write = opts.write ?? ((line) => {
      if (this.file === '') process.stdout.write(line);
      else appendFileSync(this.file, line);
    });
  }

  enabled(level: LogLevel): boolean {
    return LEVELS[level] >= LEVELS[this.level];
  }

  log(level: LogLevel, msg: string): void {
    if (!this.enabled(level)) return;
    this.write(`${process.pid}:${this.role} ${formatLogTime(new Date())} ${MARKS[level]} ${msg}\n`);
  }
}
