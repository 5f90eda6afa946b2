/**
 * Pub/sub: PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBSUB, and the sharded
 * variants (SPUBLISH, SSUBSCRIBE, SUNSUBSCRIBE; one shard here, as a standalone Redis).
 *
 * DESIGN
 *  - The registry maps channel → subscribers and pattern → subscribers, and each subscribed
 *    client to its own channels and patterns. Channel and pattern names are kept as copies (the
 *    argv views would pin the connection's receive chunks) and indexed by their bytes as latin1
 *    strings (one char per byte, binary safe).
 *  - Delivery: a message becomes a PushReply handed to the front end (ServerFrontEnd.push), which
 *    encodes it as RESP3 `>` or a RESP2 array for each subscriber and flushes idle connections in
 *    one write per turn. The (un)subscribe confirmations are pushes too, one per channel, so
 *    SUBSCRIBE a b answers with a ReplySequence of two frames, exactly Redis's bytes.
 *  - Order: subscribers of a channel receive in subscription order; pattern matches are tried in
 *    the order patterns were first subscribed. Redis iterates a hash table for patterns (and for
 *    UNSUBSCRIBE without arguments), so where it has no defined order neither do tests.
 *  - Context: a client with any subscription is "in pub/sub context"; on RESP2 the command flow
 *    then allows only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET (command-flow.ts).
 *    `subscribedClients` feeds the engine's attention counter so other clients pay nothing.
 *  - PUBLISH is propagated to replicas only, never to the AOF, in Redis. Propagation has no
 *    replica-only target yet, so PUBLISH is not propagated at all (replication will add it).
 */
import { ReplyError } from '../errors.js';
import { globMatch } from './glob.js';
import { PushReply, ReplySequence, type ClientState, type CommandContext, type CommandSpec, type Reply } from './types.js';
import type { Engine } from '../engine.js';

type Ctx = CommandContext<Engine>;

interface Subscriber {
  readonly client: ClientState;
  readonly channels: Map<string, Buffer>;
  readonly patterns: Map<string, Buffer>;
  readonly shard: Map<string, Buffer>;
}

interface PatternEntry {
  readonly pattern: Buffer;
  readonly subscribers: Set<Subscriber>;
}

const W = {
  subscribe: Buffer.from('subscribe'), unsubscribe: Buffer.from('unsubscribe'),
  psubscribe: Buffer.from('psubscribe'), punsubscribe: Buffer.from('punsubscribe'),
  ssubscribe: Buffer.from('ssubscribe'), sunsubscribe: Buffer.from('sunsubscribe'),
  message: Buffer.from('message'), pmessage: Buffer.from('pmessage'), smessage: Buffer.from('smessage'),
} as const;

const key = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

export class PubSubRegistry {
  private readonly channels = new Map<string, Set<Subscriber>>();
  private readonly shardChannels = new Map<string, Set<Subscriber>>();
  private readonly patterns = new Map<string, PatternEntry>();
  private readonly clients = new Map<ClientState, Subscriber>();
  /** Clients with at least one subscription. */
  subscribedClients = 0;
  /** Called with the number of subscribed clients whenever it changes (the engine's attention). */
  onChange: (() => void) | null = null;

  /** Deliver a push to a client; set by the engine (ServerFrontEnd.push), no-op when embedded. */
  deliver: (client: ClientState, reply: Reply) => void = () => {};

  private sub(client: ClientState): Subscriber {
    let s = this.clients.get(client);
    if (s === undefined) {
      s = { client, channels: new Map(), patterns: new Map(), shard: new Map() };
      this.clients.set(client, s);
    }
    return s;
  }

  /** Channel + pattern subscriptions (the count Redis reports in (p)(un)subscribe frames). */
  private count(s: Subscriber | undefined): number {
    return s === undefined ? 0 : s.channels.size + s.patterns.size;
  }

  counts(client: ClientState): { sub: number; psub: number; ssub: number } {
    const s = this.clients.get(client);
    return s === undefined ? { sub: 0, psub: 0, ssub: 0 } : { sub: s.channels.size, psub: s.patterns.size, ssub: s.shard.size };
  }

  isSubscribed(client: ClientState): boolean {
    const s = this.clients.get(client);
    return s !== undefined && s.channels.size + s.patterns.size + s.shard.size > 0;
  }

  /** Recomputes the subscribed-clients count after a client's subscriptions changed. */
  private settle(s: Subscriber, wasSubscribed: boolean): void {
    const now = s.channels.size + s.patterns.size + s.shard.size > 0;
    if (!now) this.clients.delete(s.client);
    if (now !== wasSubscribed) {
      this.subscribedClients += now ? 1 : -1;
      this.onChange?.();
    }
  }

  subscribe(client: ClientState, channels: readonly Buffer[], shard: boolean): Reply {
    const s = this.sub(client);
    const was = s.channels.size + s.patterns.size + s.shard.size > 0;
    const mine = shard ? s.shard : s.channels;
    const index = shard ? this.shardChannels : this.channels;
    const frames: Reply[] = [];
    for (const ch of channels) {
      const k = key(ch);
      if (!mine.has(k)) {
        const copy = Buffer.from(ch);
        mine.set(k, copy);
        let set = index.get(k);
        if (set === undefined) index.set(k, set = new Set());
        set.add(s);
      }
      frames.push(new PushReply([shard ? W.ssubscribe : W.subscribe, Buffer.from(ch), shard ? s.shard.size : this.count(s)]));
    }
    this.settle(s, was);
    return new ReplySequence(frames);
  }

  /** UNSUBSCRIBE / SUNSUBSCRIBE: the named channels, or all of them; `notify` false for RESET. */
  unsubscribe(client: ClientState, channels: readonly Buffer[] | null, shard: boolean, notify = true): Reply {
    const s = this.clients.get(client);
    const frames: Reply[] = [];
    const word = shard ? W.sunsubscribe : W.unsubscribe;
    const countOf = (): number => (s === undefined ? 0 : shard ? s.shard.size : this.count(s));
    const was = s !== undefined && s.channels.size + s.patterns.size + s.shard.size > 0;
    const index = shard ? this.shardChannels : this.channels;
    const names = channels ?? (s === undefined ? [] : [...(shard ? s.shard : s.channels).values()]);
    for (const ch of names) {
      const k = key(ch);
      const mine = s === undefined ? undefined : shard ? s.shard : s.channels;
      if (s !== undefined && mine !== undefined && mine.delete(k)) {
        const set = index.get(k);
        if (set !== undefined) {
          set.delete(s);
          if (set.size === 0) index.delete(k);
        }
      }
      if (notify) frames.push(new PushReply([word, Buffer.from(ch), countOf()]));
    }
    if (notify && channels === null && names.length === 0) frames.push(new PushReply([word, null, countOf()]));
    if (s !== undefined) this.settle(s, was);
    return new ReplySequence(frames);
  }

  psubscribe(client: ClientState, patterns: readonly Buffer[]): Reply {
    const s = this.sub(client);
    const was = s.channels.size + s.patterns.size + s.shard.size > 0;
    const frames: Reply[] = [];
    for (const p of patterns) {
      const k = key(p);
      if (!s.patterns.has(k)) {
        const copy = Buffer.from(p);
        s.patterns.set(k, copy);
        let e = this.patterns.get(k);
        if (e === undefined) this.patterns.set(k, e = { pattern: copy, subscribers: new Set() });
        e.subscribers.add(s);
      }
      frames.push(new PushReply([W.psubscribe, Buffer.from(p), this.count(s)]));
    }
    this.settle(s, was);
    return new ReplySequence(frames);
  }

  punsubscribe(client: ClientState, patterns: readonly Buffer[] | null, notify = true): Reply {
    const s = this.clients.get(client);
    const frames: Reply[] = [];
    const was = s !== undefined && s.channels.size + s.patterns.size + s.shard.size > 0;
    const names = patterns ?? (s === undefined ? [] : [...s.patterns.values()]);
    for (const p of names) {
      const k = key(p);
      if (s !== undefined && s.patterns.delete(k)) {
        const e = this.patterns.get(k);
        if (e !== undefined) {
          e.subscribers.delete(s);
          if (e.subscribers.size === 0) this.patterns.delete(k);
        }
      }
      if (notify) frames.push(new PushReply([W.punsubscribe, Buffer.from(p), this.count(s)]));
    }
    if (notify && patterns === null && names.length === 0) frames.push(new PushReply([W.punsubscribe, null, this.count(s)]));
    if (s !== undefined) this.settle(s, was);
    return new ReplySequence(frames);
  }

  /** Drops every subscription of a client without notifying it (connection closed, RESET). */
  forget(client: ClientState): void {
    if (!this.clients.has(client)) return;
    this.unsubscribe(client, null, false, false);
    this.unsubscribe(client, null, true, false);
    this.punsubscribe(client, null, false);
  }

  /** PUBLISH / SPUBLISH: delivers to channel subscribers, then (not sharded) to matching patterns. */
  publish(channel: Buffer, message: Buffer, shard: boolean): number {
    let receivers = 0;
    const set = (shard ? this.shardChannels : this.channels).get(key(channel));
    if (set !== undefined) {
      const frame = new PushReply([shard ? W.smessage : W.message, channel, message]);
      for (const s of [...set]) {
        this.deliver(s.client, frame);
        receivers++;
      }
    }
    if (shard || this.patterns.size === 0) return receivers;
    for (const e of [...this.patterns.values()]) {
      if (!globMatch(e.pattern, channel)) continue;
      const frame = new PushReply([W.pmessage, e.pattern, channel, message]);
      for (const s of [...e.subscribers]) {
        this.deliver(s.client, frame);
        receivers++;
      }
    }
    return receivers;
  }

  /** PUBSUB CHANNELS / SHARDCHANNELS: active channels, optionally matching a glob. */
  channelList(pattern: Buffer | null, shard: boolean): Buffer[] {
    const out: Buffer[] = [];
    for (const k of (shard ? this.shardChannels : this.channels).keys()) {
      const name = Buffer.from(k, 'latin1');
      if (pattern === null || globMatch(pattern, name)) out.push(name);
    }
    return out;
  }

  numsub(channel: Buffer, shard: boolean): number {
    return (shard ? this.shardChannels : this.channels).get(key(channel))?.size ?? 0;
  }

  get channelCount(): number { return this.channels.size; }
  get patternCount(): number { return this.patterns.size; }
}

// ================================================================================================
// Commands
// ================================================================================================

function publishCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return ctx.engine.flow.pubsub.publish(argv[1]!, argv[2]!, false);
}

function spublishCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return ctx.engine.flow.pubsub.publish(argv[1]!, argv[2]!, true);
}

/** Inside EXEC only the non-sharded forms may subscribe (Redis's DENY_BLOCKING exemption for MULTI). */
function subscribeCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return ctx.engine.flow.pubsub.subscribe(ctx.client, argv.slice(1), false);
}

function ssubscribeCommand(ctx: Ctx, argv: Buffer[]): Reply {
  if (ctx.client.multi !== null) throw new ReplyError("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
  return ctx.engine.flow.pubsub.subscribe(ctx.client, argv.slice(1), true);
}

function unsubscribeCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return ctx.engine.flow.pubsub.unsubscribe(ctx.client, argv.length > 1 ? argv.slice(1) : null, false);
}

function sunsubscribeCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return ctx.engine.flow.pubsub.unsubscribe(ctx.client, argv.length > 1 ? argv.slice(1) : null, true);
}

function psubscribeCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return ctx.engine.flow.pubsub.psubscribe(ctx.client, argv.slice(1));
}

function punsubscribeCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return ctx.engine.flow.pubsub.punsubscribe(ctx.client, argv.length > 1 ? argv.slice(1) : null);
}

/** Redis's addReplySubcommandSyntaxError. */
export function subcommandSyntaxError(argv: Buffer[]): ReplyError {
  const sub = argv[1]!.toString('utf8').slice(0, 128);
  return new ReplyError(`ERR unknown subcommand or wrong number of arguments for '${sub}'. Try ${argv[0]!.toString('latin1').toUpperCase()} HELP.`);
}

/** Redis's addReplyHelp: a header naming the command, the lines, and the HELP footer. */
export function helpReply(argv: Buffer[], lines: readonly string[]): Reply {
  return [
    `${argv[0]!.toString('latin1').toUpperCase()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`,
    ...lines,
    'HELP',
    '    Prints this help.',
  ];
}

function pubsubChannels(ctx: Ctx, argv: Buffer[], shard: boolean): Reply {
  if (argv.length > 3) throw subcommandSyntaxError(argv);
  return ctx.engine.flow.pubsub.channelList(argv.length === 3 ? argv[2]! : null, shard);
}

function pubsubNumsub(ctx: Ctx, argv: Buffer[], shard: boolean): Reply {
  const out: Reply[] = [];
  for (let j = 2; j < argv.length; j++) out.push(argv[j]!, ctx.engine.flow.pubsub.numsub(argv[j]!, shard));
  return out;
}

const PUBSUB_HELP = [
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
];

type Flags = CommandSpec<Engine>['flags'];
const row = (name: string, arity: number, flags: Flags, handler: CommandSpec<Engine>['handler'], summary: string,
  since: string, extra: Partial<CommandSpec<Engine>> = {}): CommandSpec<Engine> => ({
  name, arity, flags, firstKey: 0, lastKey: 0, step: 0, group: 'pubsub', since, summary, handler, ...extra,
});
const SUB: Flags = ['pubsub', 'noscript', 'loading', 'stale'];
const INTRO: Flags = ['pubsub', 'loading', 'stale'];

export const pubsubCommands: CommandSpec<Engine>[] = [
  row('publish', 3, ['pubsub', 'loading', 'stale', 'fast', 'mayReplicate'], publishCommand, 'Post a message to a channel.', '2.0.0'),
  row('subscribe', -2, SUB, subscribeCommand, 'Listen for messages published to channels.', '2.0.0'),
  row('unsubscribe', -1, SUB, unsubscribeCommand, 'Stop listening to channels (all when none are named).', '2.0.0'),
  row('psubscribe', -2, SUB, psubscribeCommand, 'Listen for messages published to channels matching glob patterns.', '2.0.0'),
  row('punsubscribe', -1, SUB, punsubscribeCommand, 'Stop listening to patterns (all when none are named).', '2.0.0'),
  row('spublish', 3, ['pubsub', 'loading', 'stale', 'fast', 'mayReplicate'], spublishCommand, 'Post a message to a shard channel.', '7.0.0', { firstKey: 1, lastKey: 1, step: 1 }),
  row('ssubscribe', -2, SUB, ssubscribeCommand, 'Listen for messages published to shard channels.', '7.0.0', { firstKey: 1, lastKey: -1, step: 1 }),
  row('sunsubscribe', -1, SUB, sunsubscribeCommand, 'Stop listening to shard channels (all when none are named).', '7.0.0', { firstKey: 1, lastKey: -1, step: 1 }),
  row('pubsub', -2, [], () => null, 'A container for pub/sub introspection commands.', '2.8.0', {
    subcommands: [
      row('channels', -2, INTRO, (c, a) => pubsubChannels(c, a, false), 'List the active channels.', '2.8.0'),
      row('numsub', -2, INTRO, (c, a) => pubsubNumsub(c, a, false), 'Count the subscribers of channels.', '2.8.0'),
      row('numpat', 2, INTRO, (c) => c.engine.flow.pubsub.patternCount, 'Count the subscribed patterns.', '2.8.0'),
      row('shardchannels', -2, INTRO, (c, a) => pubsubChannels(c, a, true), 'List the active shard channels.', '7.0.0'),
      row('shardnumsub', -2, INTRO, (c, a) => pubsubNumsub(c, a, true), 'Count the subscribers of shard channels.', '7.0.0'),
      row('help', 2, ['loading', 'stale'], (_c, a) => helpReply(a, PUBSUB_HELP), 'Show helpful text about the different subcommands.', '6.2.0'),
    ],
  }),
];
