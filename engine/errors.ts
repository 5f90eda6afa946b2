/**
 * Error classes. Every error forkless raises has a `name`, a stable `code` and, where it wraps a
 * lower-level failure, a `cause`. Two families:
 *  - ReplyError: a command failed the way Redis fails it. `message` is the exact Redis error text
 *    (first word is the error code: ERR, WRONGTYPE, NOAUTH, MISCONF, ...). The RESP server writes it
 *    as `-<message>\r\n`; the embedded API throws it.
 *  - ForklessError subclasses: failures of the engine itself (corrupt files, I/O, worker crashes).
 */
export class ForklessError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ForklessError';
    this.code = code;
  }
}

export class ReplyError extends Error {
  /** The Redis error prefix: 'ERR', 'WRONGTYPE', 'NOAUTH', ... */
  readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReplyError';
    const sp = message.indexOf(' ');
    this.code = sp > 0 ? message.slice(0, sp) : message;
  }
}

/** A persisted file (RDB, AOF, manifest) is corrupt or truncated. Names the file and byte offset. */
export class CorruptFileError extends ForklessError {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, reason: string, options?: { cause?: unknown }) {
    super('ECORRUPT', `${file}: ${reason} at offset ${offset}`, options);
    this.name = 'CorruptFileError';
    this.file = file;
    this.offset = offset;
  }
}

/** Reading or writing a file failed at the OS level. */
export class PersistenceIOError extends ForklessError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EPERSIST', message, options);
    this.name = 'PersistenceIOError';
  }
}

/** A configuration directive or value was rejected. */
export class ConfigError extends ForklessError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ECONFIG', message, options);
    this.name = 'ConfigError';
  }
}

/** The shared-memory store ran out of address space or hit an internal invariant. */
export class StoreError extends ForklessError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}

/** Common Redis error texts, so handlers never spell them twice. */
export const Errors = {
  syntax: () => new ReplyError('ERR syntax error'),
  notInteger: () => new ReplyError('ERR value is not an integer or out of range'),
  notFloat: () => new ReplyError('ERR value is not a valid float'),
  wrongType: () => new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'),
  noSuchKey: () => new ReplyError('ERR no such key'),
  overflow: () => new ReplyError('ERR increment or decrement would overflow'),
  arity: (name: string) => new ReplyError(`ERR wrong number of arguments for '${name}' command`),
  dbIndexOutOfRange: () => new ReplyError('ERR DB index is out of range'),
  invalidExpire: (cmd: string) => new ReplyError(`ERR invalid expire time in '${cmd}' command`),
} as const;
