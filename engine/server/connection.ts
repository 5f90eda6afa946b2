/**
 * One client connection: receive chunks, parse commands, run them, send the replies.
 *
 * DESIGN
 *  - One write per input chunk: every reply produced while a chunk is processed lands in the
 *    connection's ReplyBuffer and goes to the socket in a single write() at the end, so a pipeline
 *    of N commands costs one syscall, not N.
 *  - Backpressure: Redis lets a normal client's output grow without limit (client-output-buffer-
 *    limit normal 0 0 0). Here a reader that does not drain its socket stops being read: once the
 *    bytes queued in the socket pass `outputPauseBytes`, command processing stops (mid-chunk if
 *    need be; the parser keeps its place), the socket is paused, and both resume on 'drain'. The
 *    client's own TCP window then throttles it, and memory stays bounded by roughly one command's
 *    reply over the limit.
 *  - Protocol errors: the reply is sent, later input is ignored, the socket is closed after the
 *    write, as Redis's CLIENT_CLOSE_AFTER_REPLY.
 *  - Pushes (pub/sub messages, MONITOR lines) are encoded into the same output buffer the moment
 *    the engine produces them. While the connection runs a command they land ahead of that
 *    command's reply and leave with its write; otherwise the server flushes them on the next turn.
 *    CLIENT REPLY OFF/SKIP only ever drops a command's own reply (`replyMark`), never a push.
 *    A push that takes pending output past the client's output-buffer limit class (pubsub when
 *    subscribed, else normal) closes the connection, as Redis's checkClientOutputBufferLimits.
 *  - Durable replies (appendfsync): Redis writes (and under `always` fsyncs) the AOF in
 *    beforeSleep, before any client's output is written, so no client ever sees a reply, a push
 *    or a read of data the AOF does not hold yet. Here each write checks the engine's durability
 *    barrier (the AOF offset everything produced so far depends on): when it is durable and
 *    nothing is held, the bytes go out at once (the usual case without AOF, and for reads);
 *    otherwise they queue, in order, until the engine's whenDurable() says the AOF caught up.
 *    Everything this connection writes goes through that queue, so nothing overtakes a held
 *    reply. Held bytes stay where the ReplyBuffer put them (no copy): the buffer is not recycled
 *    until the queue is empty, and take() never writes bytes it handed out. They count as pending
 *    output for backpressure and output limits, and an end (QUIT, protocol error, the peer's FIN)
 *    waits for them. If the AOF fails for good the connection is closed (the engine is exiting,
 *    as Redis does, without sending them).
 */
import type { Socket } from 'node:net';
import { ReplyError } from '../errors.js';
import type { ClientState, Reply } from '../commands/types.js';
import { COMMAND, NEED_MORE, OVERFLOW, PROTOCOL_ERROR, RespParser, type ParserLimits } from './resp-parser.js';
import { ReplyBuffer } from './resp-writer.js';
import type { RespServer } from './server.js';
import type { EngineClientInfo } from './engine-port.js';
import { classifyCommand, CMD_NONE, CMD_SECURITY, runConnectionCommand } from './connection-commands.js';
import { BlockedReply } from '../blocking.js';

/** Flush inside a chunk once this much output is pending (keeps a huge pipeline from ballooning). */
const FLUSH_AT = 256 * 1024;

/** Output waiting for the AOF: the bytes of one write and the AOF offset they depend on. */
interface HeldOutput {
  off: number;
  data: Buffer;
}

export class Connection {
  readonly client: ClientState;
  readonly parser: RespParser;
  readonly out = new ReplyBuffer();
  readonly createdAt = Date.now();
  lastInteraction = this.createdAt;
  /** Has passed AUTH (or no password was required when it connected). */
  authenticated: boolean;
  /** CLIENT REPLY state. */
  replyOff = false;
  skipNext = false;
  private skipThis = false;
  closeAfterReply = false;
  closed = false;
  /** Processing stopped until the socket drains. */
  suspended = false;
  /** Processing stopped for another reason (CLIENT PAUSE, SHUTDOWN in progress). */
  held = false;
  private heldFor: 'pause' | 'shutdown' | null = null;
  /**
   * Blocked in BLPOP & co. (engine/blocking.ts): no input is processed until the engine delivers
   * the command's reply through unblocked(). `blockedDrop`: CLIENT REPLY OFF/SKIP applied to it.
   */
  blockedOn: BlockedReply | null = null;
  private blockedDrop = false;
  /** A command parsed but not run because of CLIENT PAUSE; it runs first on release. */
  private deferred: Buffer[] | null = null;
  /** Name of the last command (argv[0]) and its subcommand, for CLIENT LIST cmd=. */
  lastCommand: Buffer | null = null;
  lastSubcommand: Buffer | null = null;
  readonly addr: string;
  readonly laddr: string;
  readonly fd: number;
  readonly isLocal: boolean;
  readonly isUnix: boolean;
  /** Peak output buffer capacity (CLIENT LIST rbp). */
  outPeak = 0;
  private queued: Buffer[] = [];
  /** Output position where the current command's own reply starts (-1: none yet). */
  private replyMark = -1;
  /** Inside process(): its final flush will send pushed output too. */
  private processing = false;
  /** Since when pending output has been above the soft output limit (0: it is not). */
  private softLimitSince = 0;
  /** Over its output limit: closing on the next turn; further pushes are dropped. */
  private closeAsap = false;
  /** Writes waiting until the AOF makes them durable, oldest first from `heldHead` (see DESIGN). */
  private heldOut: HeldOutput[] = [];
  private heldHead = 0;
  /** Bytes in `heldOut` not written yet. */
  private heldBytes = 0;
  /** A whenDurable() registration for heldOut[heldHead] is outstanding. */
  private durableWait = false;
  /** End the socket once the held output is written (QUIT, protocol error, the peer's FIN). */
  private endWhenReleased = false;
  private readonly onDurable = (): void => this.releaseHeld();
  private readonly afterReleaseCb = (): void => this.afterRelease();
  private readonly onAofFailed = (err: Error): void => this.aofFailed(err);

  constructor(readonly server: RespServer, readonly socket: Socket, client: ClientState, limits: ParserLimits, authenticated: boolean) {
    this.client = client;
    this.parser = new RespParser(limits);
    this.authenticated = authenticated;
    this.parser.authRequired = !authenticated;
    this.addr = formatAddr(socket.remoteAddress, socket.remotePort, socket);
    this.laddr = formatAddr(socket.localAddress, socket.localPort, socket);
    this.fd = socketFd(socket);
    const ip = normalizeIp(socket.remoteAddress);
    this.isUnix = ip === undefined;
    this.isLocal = ip === '127.0.0.1' || ip === '::1' || ip === undefined;
    // A client's FIN must not end our side at once: replies held for the AOF are still to be
    // written ('end' below ends it after them). Documented as settable before 'end' is emitted.
    socket.allowHalfOpen = true;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err: Error) => {
      this.server.log('verbose', `Reading from client: ${err.message}`);
      this.close();
    });
    socket.on('close', () => this.close());
    socket.on('end', () => {
      // The peer sent FIN. Our side ends once the replies already produced are written, held
      // ones included, so they still reach a `printf ... | nc` style client.
      this.server.log('verbose', `Client closed connection ${this.infoString()}`);
      this.endAfterWrite();
    });
  }

  setAuthenticated(yes: boolean): void {
    this.authenticated = yes;
    this.parser.authRequired = !yes;
  }

  private onData(chunk: Buffer): void {
    this.lastInteraction = Date.now();
    this.server.counters.totalNetInputBytes += chunk.length;
    this.server.counters.totalReadsProcessed++;
    if (this.closeAfterReply || this.closed) return;
    if (this.suspended || this.held || this.blockedOn !== null || this.parser.hasInput || this.queued.length > 0) {
      this.queued.push(chunk);
      return;
    }
    this.parser.feed(chunk);
    this.safely();
  }

  /** process(), but a bug in it costs this connection, not the server. */
  private safely(): void {
    try {
      this.process();
    } catch (err) {
      this.server.log('warning', `Closing client after an internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      this.close();
    }
  }

  private onDrain(): void {
    if (this.closed) return;
    this.recycleIfIdle();
    this.resumeIfDrained();
  }

  /** Output written by the socket or held for the AOF, not yet taken by the kernel. */
  get pendingOutput(): number {
    return this.socket.writableLength + this.heldBytes;
  }

  /** Suspended for output and now under the pause limit: read and process input again. */
  private resumeIfDrained(): void {
    if (!this.suspended || this.closed || this.processing || this.pendingOutput > this.server.outputPauseBytes) return;
    this.suspended = false;
    this.server.counters.pausedForOutput--;
    if (this.held) return;
    this.socket.resume();
    this.safely();
  }

  /** Nothing pending anywhere: the output buffer may start over (see ReplyBuffer.recycle). */
  private recycleIfIdle(): void {
    if (this.out.length === 0 && this.socket.writableLength === 0 && this.heldHead === this.heldOut.length) this.out.recycle();
  }

  /** Stops running commands (CLIENT PAUSE, SHUTDOWN in progress); the socket stops being read. */
  hold(reason: 'pause' | 'shutdown'): void {
    if (this.closed) return;
    if (this.held) {
      if (reason === 'shutdown') this.heldFor = reason;
      return;
    }
    this.held = true;
    this.heldFor = reason;
    this.socket.pause();
  }

  /** Undoes hold(reason): reading and command processing resume. */
  release(reason: 'pause' | 'shutdown'): void {
    if (!this.held || this.heldFor !== reason) return;
    this.held = false;
    this.heldFor = null;
    if (this.closed || this.suspended) return;
    this.socket.resume();
    this.safely();
  }

  /**
   * Why: runs commands until the input is used up, the socket needs to drain first, or the
   * connection is to close; then sends everything produced in one write. Safe to call again at
   * any time: the parser resumes where it stopped.
   */
  process(): void {
    this.processing = true;
    try {
      this.processLoop();
    } finally {
      this.processing = false;
    }
  }

  private processLoop(): void {
    const p = this.parser;
    for (;;) {
      if (this.held || this.blockedOn !== null || this.closeAfterReply || this.closed) break;
      if (this.deferred !== null) {
        const argv = this.deferred;
        if (this.server.pausedFor(argv, this.client)) {
          this.hold('pause');
          break;
        }
        this.deferred = null;
        this.runCommand(argv);
        continue;
      }
      const r = p.next();
      if (r === COMMAND) {
        if (p.argc === 0) continue;
        const argv = p.argv();
        if (this.server.pausedFor(argv, this.client)) {
          // CLIENT PAUSE: this command waits (with its connection) until the pause ends.
          this.deferred = argv;
          this.hold('pause');
          break;
        }
        this.runCommand(argv);
        if (this.out.length >= FLUSH_AT) {
          this.flush();
          if (this.pendingOutput > this.server.outputPauseBytes) {
            this.suspend();
            return;
          }
        }
        continue;
      }
      if (r === NEED_MORE) {
        const next = this.queued.shift();
        if (next === undefined) break;
        p.feed(next);
        continue;
      }
      if (r === PROTOCOL_ERROR) {
        if (!this.replyOff && !this.skipThis) this.out.errorLatin1('ERR ' + p.error);
        this.server.log('verbose', `Protocol error (${p.error}) from client: ${this.infoString()}`);
        this.closeAfterReply = true;
        break;
      }
      if (r === OVERFLOW) {
        this.server.log('warning', `Closing client that reached max query buffer length: ${this.infoString()}`);
        this.close();
        return;
      }
    }
    // Redis closes a CLOSE_AFTER_REPLY client once its pending output is written; with nothing
    // pending (CLIENT REPLY OFF/SKIP swallowed the reply) that never happens and the connection
    // just stops processing input. Same here.
    const pending = this.out.length > 0 || this.pendingOutput > 0;
    this.flush();
    if (this.closeAfterReply) {
      if (pending) this.endAfterWrite();
    } else if (this.pendingOutput > this.server.outputPauseBytes) {
      this.suspend();
    }
  }

  /** Runs one command; its reply goes to the output buffer. */
  runCommand(argv: Buffer[]): void {
    this.replyMark = -1;
    this.lastCommand = argv[0]!;
    this.lastSubcommand = argv.length > 1 ? argv[1]! : null;
    const kind = classifyCommand(argv[0]!);
    if (kind === CMD_SECURITY) {
      this.server.securityWarning();
      this.close();
      return;
    }
    if (kind !== CMD_NONE) {
      runConnectionCommand(this, kind, argv);
    } else if (!this.authenticated) {
      const err = this.server.engine.checkCommand?.(argv) ?? null;
      this.sendReply(err ?? NOAUTH);
    } else {
      this.execute(argv);
    }
    // CLIENT REPLY: decided after the command ran (CLIENT REPLY ON's own +OK goes out).
    if ((this.replyOff || this.skipThis) && this.replyMark >= 0) this.out.rollback(this.replyMark);
    this.skipThis = this.skipNext;
    this.skipNext = false;
  }

  /** Hands a command to the engine and encodes its reply (copying any shared-memory bytes). */
  execute(argv: Buffer[]): void {
    let reply: Reply;
    try {
      reply = this.server.engine.execute(this.client, argv);
    } catch (err) {
      reply = this.server.unexpected(err, argv);
    }
    if (reply instanceof BlockedReply) {
      // The command waits for a key: its reply comes later (served, timeout, CLIENT UNBLOCK).
      this.blockedOn = reply;
      this.blockedDrop = this.replyOff || this.skipThis;
      reply.attach((r) => this.unblocked(r));
      return;
    }
    this.sendReply(reply, argv);
  }

  /**
   * The blocked command's reply. It may arrive from inside the engine (serving after another
   * client's write), so processing of this client's pending input resumes a microtask later.
   */
  private unblocked(reply: Reply): void {
    this.blockedOn = null;
    if (this.closed) return;
    if (!this.blockedDrop) {
      const mark = this.out.mark();
      try {
        this.out.reply(reply, this.client.resp);
      } catch (err) {
        this.out.rollback(mark);
        this.out.reply(this.server.unexpected(err, [Buffer.from('?')]), this.client.resp);
      }
    }
    queueMicrotask(() => {
      if (this.closed || this.blockedOn !== null) return;
      if (this.held || this.suspended) this.flush();
      else this.safely();
    });
  }

  /**
   * Encodes the current command's reply. Remembers where it starts, so CLIENT REPLY OFF/SKIP can
   * drop it without dropping pushes produced while the command ran.
   */
  sendReply(reply: Reply, argv: Buffer[] | null = null): void {
    const mark = this.out.mark();
    this.replyMark = mark;
    try {
      this.out.reply(reply, this.client.resp);
    } catch (err) {
      // A malformed Reply: drop the half-encoded bytes, answer with an error.
      this.out.rollback(mark);
      this.out.reply(this.server.unexpected(err, argv ?? [Buffer.from('?')]), this.client.resp);
    }
  }

  /**
   * Encodes an out-of-band reply for this client (see DESIGN). Returns true when the caller must
   * arrange a flush (the connection is idle), false when nothing is to be sent or process() will.
   */
  pushReply(reply: Reply): boolean {
    if (this.closed || this.closeAfterReply || this.closeAsap) return false;
    this.out.reply(reply, this.client.resp);
    if (this.overOutputLimit()) {
      this.closeAsap = true;
      this.server.log('warning', `Client ${this.infoString()} scheduled to be closed ASAP for overcoming of output buffer limits.`);
      setImmediate(() => this.close());
      return false;
    }
    return !this.processing;
  }

  /** The server's deferred flush of pushed output (see RespServer.scheduleFlush). */
  flushPushed(): void {
    if (this.closed || this.processing) return;
    this.flush();
  }

  /** Redis's hard/soft output limits for this client's class, checked after each push. */
  private overOutputLimit(): boolean {
    const pending = this.out.length + this.pendingOutput;
    if (pending < this.server.outputLimitFloor()) {
      this.softLimitSince = 0;
      return false;
    }
    const info = this.server.engine.clientInfo?.(this.client);
    const subscribed = info !== undefined && info.sub + info.psub + info.ssub > 0;
    const limit = this.server.outputLimit(subscribed ? 'pubsub' : 'normal');
    if (limit === undefined) return false;
    if (limit.hard > 0 && pending >= limit.hard) return true;
    if (limit.soft > 0 && pending >= limit.soft) {
      const now = Date.now();
      if (this.softLimitSince === 0) this.softLimitSince = now;
      else if (now - this.softLimitSince >= limit.softSeconds * 1000) return true;
    } else {
      this.softLimitSince = 0;
    }
    return false;
  }

  /**
   * Sends what the output buffer holds, unless the AOF has not made it durable yet (see DESIGN,
   * "Durable replies"): then it waits in order behind anything held before it.
   */
  flush(): void {
    const data = this.out.take();
    if (data !== null && !this.closed) {
      if (this.out.capacity > this.outPeak) this.outPeak = this.out.capacity;
      const engine = this.server.engine;
      const off = engine.durabilityBarrier?.() ?? 0;
      if (this.heldHead === this.heldOut.length && (off === 0 || engine.isDurable === undefined || engine.isDurable(off))) {
        this.send(data);
      } else {
        this.holdOutput(off, data);
      }
    }
    this.recycleIfIdle();
  }

  private send(data: Buffer): void {
    this.lastInteraction = Date.now(); // as Redis: sending counts as activity for `timeout`
    this.server.counters.totalNetOutputBytes += data.length;
    this.server.counters.totalWritesProcessed++;
    this.socket.write(data);
  }

  /** Queues a write behind the AOF; the first one held registers for its offset. */
  private holdOutput(off: number, data: Buffer): void {
    this.heldOut.push({ off, data });
    this.heldBytes += data.length;
    if (!this.durableWait) this.waitForHead();
  }

  private waitForHead(): void {
    // Set before the call: the engine may report from inside it (the offset may already be
    // durable by the time its flush has polled the AOF worker).
    this.durableWait = true;
    this.callWhenDurable();
  }

  private callWhenDurable(): void {
    const head = this.heldOut[this.heldHead]!;
    const engine = this.server.engine;
    if (engine.whenDurable !== undefined) engine.whenDurable(head.off, this.onDurable, this.onAofFailed);
    else queueMicrotask(this.onDurable);
  }

  /**
   * Why: whenDurable() reported the first held write durable. It goes out, then every later one
   * the AOF has caught up with, in order. (The head is released on the engine's word rather than
   * re-checked with isDurable(): its offset belongs to the AOF stream it was taken in, and a
   * CONFIG SET appendonly no/yes in between restarts the offsets; the engine releases the old
   * stream's waiters when it drains.)
   * This runs inside the engine's acknowledgement loop, which is not re-entrant: registering the
   * next held write or running commands again (both may make the engine poll its AOF worker and
   * run that loop) waits for a microtask, afterRelease(). Only sends, recycling and the final
   * end() happen here.
   */
  private releaseHeld(): void {
    const q = this.heldOut;
    if (this.socket.destroyed) {
      this.durableWait = false;
      this.dropHeld();
      return;
    }
    const engine = this.server.engine;
    let first = true;
    while (this.heldHead < q.length) {
      const h = q[this.heldHead]!;
      if (!first && engine.isDurable !== undefined && !engine.isDurable(h.off)) break;
      first = false;
      this.heldHead++;
      this.heldBytes -= h.data.length;
      this.send(h.data);
    }
    if (this.heldHead < q.length) {
      if (this.heldHead >= 1024) {
        q.splice(0, this.heldHead);
        this.heldHead = 0;
      }
      // durableWait stays set: nothing else registers before afterRelease() does.
      queueMicrotask(this.afterReleaseCb);
      return;
    }
    this.durableWait = false;
    q.length = 0;
    this.heldHead = 0;
    if (this.endWhenReleased) {
      this.endWhenReleased = false;
      this.socket.end(() => this.socket.destroy());
      return;
    }
    this.recycleIfIdle();
    if (this.suspended) queueMicrotask(this.afterReleaseCb);
  }

  /** After releaseHeld(), outside the engine's loop: register the next held write, resume input. */
  private afterRelease(): void {
    if (this.socket.destroyed) {
      this.durableWait = false;
      this.dropHeld();
      return;
    }
    if (this.durableWait) {
      if (this.heldHead < this.heldOut.length) this.callWhenDurable();
      else this.durableWait = false;
    }
    this.resumeIfDrained();
  }

  /** The AOF failed for good: the engine exits without sending held replies, as Redis does. */
  private aofFailed(err: Error): void {
    this.durableWait = false;
    this.server.log('verbose', `Closing client with replies held for a failed AOF (${err.message}): ${this.infoString()}`);
    this.close();
    this.dropHeld();
  }

  private dropHeld(): void {
    this.heldOut = [];
    this.heldHead = 0;
    this.heldBytes = 0;
    this.endWhenReleased = false;
  }

  private suspend(): void {
    if (this.suspended || this.closed) return;
    this.suspended = true;
    this.server.counters.pausedForOutput++;
    this.socket.pause();
  }

  /**
   * Sends what is pending, then closes (QUIT, protocol errors, CLIENT KILL of oneself, the peer's
   * FIN). Output held for the AOF still goes first: the socket ends when it has been released.
   */
  endAfterWrite(): void {
    if (this.closed) return;
    this.flush();
    if (this.heldHead < this.heldOut.length) this.endWhenReleased = true;
    else this.socket.end(() => this.socket.destroy());
    this.close(false);
  }

  /** Forgets the connection; destroys the socket unless `destroy` is false (end() pending). */
  close(destroy = true): void {
    if (destroy && !this.socket.destroyed) this.socket.destroy();
    if (destroy) this.dropHeld();
    if (this.closed) return;
    this.closed = true;
    if (this.suspended) {
      this.suspended = false;
      this.server.counters.pausedForOutput--;
    }
    this.queued = [];
    this.server.removeConnection(this);
  }

  /** Engine-side state (subscriptions, MONITOR, dirty CAS), or an empty one. */
  engineInfo(): EngineClientInfo {
    return this.server.engine.clientInfo?.(this.client) ?? NO_ENGINE_INFO;
  }

  /** Redis's client type: pubsub while subscribed, else normal (no replicas or masters yet). */
  clientType(): 'normal' | 'pubsub' {
    const i = this.engineInfo();
    return i.sub + i.psub + i.ssub > 0 ? 'pubsub' : 'normal';
  }

  /** CLIENT LIST / CLIENT INFO line, Redis's field order. */
  infoString(): string {
    const now = Date.now();
    const c = this.client;
    const multi = c.multi;
    const info = this.engineInfo();
    let flags = '';
    if (info.monitor) flags += 'O';
    if (info.sub + info.psub + info.ssub > 0) flags += 'P';
    if (multi !== null) flags += 'x';
    if (info.dirtyCas) flags += 'd';
    if (this.blockedOn !== null) flags += 'b';
    if (this.closeAfterReply) flags += 'c';
    if (this.closeAsap) flags += 'A';
    if (this.isUnix) flags += 'U';
    if (flags === '') flags = 'N';
    let events = '';
    if (!this.suspended && !this.closed) events += 'r';
    if (this.pendingOutput > 0) events += 'w';
    const qbuf = this.parser.bufferedBytes;
    const omem = this.pendingOutput;
    return `id=${c.id} addr=${this.addr} laddr=${this.laddr} fd=${this.fd} name=${c.name ?? ''}` +
      ` age=${Math.floor((now - this.createdAt) / 1000)} idle=${Math.floor((now - this.lastInteraction) / 1000)}` +
      ` flags=${flags} db=${c.db} sub=${info.sub} psub=${info.psub} ssub=${info.ssub} multi=${multi === null ? -1 : multi.length}` +
      ` qbuf=${qbuf} qbuf-free=0 argv-mem=0 multi-mem=${info.multiMem} rbs=${this.out.capacity} rbp=${this.outPeak}` +
      ` obl=${this.out.length} oll=0 omem=${omem} tot-mem=${this.out.capacity + qbuf + omem + info.multiMem}` +
      ` events=${events} cmd=${this.commandName()} user=default redir=-1 resp=${c.resp}`;
  }

  /** Last command's name as Redis's `fullname` (container|subcommand), lower case. */
  commandName(): string {
    if (this.lastCommand === null) return 'NULL';
    const name = this.lastCommand.toString('latin1').toLowerCase();
    if (CONTAINERS.has(name) && this.lastSubcommand !== null) {
      return name + '|' + this.lastSubcommand.toString('latin1').toLowerCase();
    }
    return name;
  }
}

const NOAUTH = new ReplyError('NOAUTH Authentication required.');
const NO_ENGINE_INFO: EngineClientInfo = { sub: 0, psub: 0, ssub: 0, monitor: false, dirtyCas: false, multiMem: 0 };

/** Redis 7.0 commands with subcommands (CLIENT LIST shows cmd=client|list). */
const CONTAINERS = new Set([
  'acl', 'client', 'cluster', 'command', 'config', 'function', 'latency', 'memory', 'module',
  'object', 'pubsub', 'script', 'slowlog', 'xgroup', 'xinfo',
]);

/** IPv4-mapped IPv6 addresses shown the way Redis's IPv4 listener would see them. */
export function normalizeIp(ip: string | undefined): string | undefined {
  if (ip !== undefined && ip.startsWith('::ffff:') && ip.indexOf('.') !== -1) return ip.slice(7);
  return ip;
}

function formatAddr(ip: string | undefined, port: number | undefined, socket: Socket): string {
  const a = normalizeIp(ip);
  if (a === undefined) {
    // Unix socket: Redis prints "<path>:0".
    const path = (socket as unknown as { server?: { _pipeName?: string } }).server?._pipeName;
    return `${path ?? ''}:0`;
  }
  return a.indexOf(':') !== -1 ? `[${a}]:${port ?? 0}` : `${a}:${port ?? 0}`;
}

function socketFd(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
  return typeof handle?.fd === 'number' ? handle.fd : -1;
}
