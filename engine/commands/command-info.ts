/**
 * COMMAND's replies, generated from the command table: INFO (the 10-element description every
 * client library knows), DOCS (what redis-cli reads at start for its hints), GETKEYS /
 * GETKEYSANDFLAGS (key extraction by key specs), LIST with FILTERBY, COUNT.
 *
 * Two sources, one truth each: the table rows (dispatch.ts) decide what runs (arity, the flags the
 * engine acts on, summaries); command-meta.ts holds the facts Redis reports that the engine does
 * not act on (the full flag set, ACL categories, key specs, tips, argument grammar), generated from
 * Redis 7.0's command JSON by scripts/gen-command-meta.mjs. A row without metadata (a command
 * Redis does not have, or one added since the generator last ran) is described from the row alone:
 * its flags mapped to Redis's names, categories derived the way Redis derives implicit ones, one
 * range key spec from first/last/step. test/server-introspection.test.ts checks rows and metadata
 * agree on arity and first/last/step.
 */
import { MapReply, SetReply, type CommandFlag, type CommandSpec, type Reply } from './types.js';
import { COMMAND_META } from './command-meta.js';

export type BeginSearch =
  | { type: 'index'; index: number }
  | { type: 'keyword'; keyword: string; startfrom: number }
  | { type: 'unknown' };
export type FindKeys =
  | { type: 'range'; lastkey: number; keystep: number; limit: number }
  | { type: 'keynum'; keynumidx: number; firstkey: number; keystep: number }
  | { type: 'unknown' };

export interface KeySpecMeta {
  /** Redis's key-spec flag names, in its order (RO, RW, OW, RM, access, update ...). */
  flags: string[];
  bs: BeginSearch;
  fk: FindKeys;
}

export interface ArgMeta {
  name: string;
  type: string;
  key_spec_index?: number;
  token?: string;
  since?: string;
  deprecated_since?: string;
  flags?: string[];
  arguments?: ArgMeta[];
}

export interface CommandMeta {
  arity: number;
  /** COMMAND INFO flags, Redis's names and order (movablekeys included when Redis sets it). */
  flags: string[];
  /** ACL categories without '@', explicit and implicit, in Redis's order. */
  acl: string[];
  tips: string[];
  keySpecs: KeySpecMeta[];
  /** The legacy first/last/step COMMAND INFO shows (Redis computes it from the key specs). */
  range: [number, number, number];
  since: string;
  group: string;
  docFlags?: string[];
  deprecatedSince?: string;
  args?: ArgMeta[];
}

/** Row flags in Redis's COMMAND INFO order and names (hidden ones, as may_replicate, omitted). */
const FLAG_NAMES: ReadonlyArray<[CommandFlag, string]> = [
  ['write', 'write'], ['readonly', 'readonly'], ['denyoom', 'denyoom'], ['admin', 'admin'], ['pubsub', 'pubsub'],
  ['noscript', 'noscript'], ['blocking', 'blocking'], ['loading', 'loading'], ['stale', 'stale'],
  ['skipMonitor', 'skip_monitor'], ['skipSlowlog', 'skip_slowlog'], ['fast', 'fast'], ['noAuth', 'no_auth'],
  ['noMulti', 'no_multi'], ['allowBusy', 'allow_busy'],
];

const ACL_ORDER = ['keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo',
  'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting'];

/** The ACL category a command group implies, for rows without metadata. */
const GROUP_CATEGORY: Readonly<Record<string, string>> = {
  generic: 'keyspace', string: 'string', list: 'list', set: 'set', 'sorted-set': 'sortedset', hash: 'hash',
  pubsub: 'pubsub', transactions: 'transaction', connection: 'connection', scripting: 'scripting',
  hyperloglog: 'hyperloglog', geo: 'geo', stream: 'stream', bitmap: 'bitmap',
};

/** Metadata for a row: the generated facts, or what the row itself says. */
export function metaFor<E>(spec: CommandSpec<E>, fullname: string): CommandMeta {
  const m = COMMAND_META[fullname];
  if (m !== undefined) return m;
  const flags = FLAG_NAMES.filter(([f]) => spec.flags.includes(f)).map(([, n]) => n);
  const acl = new Set<string>();
  const g = GROUP_CATEGORY[spec.group];
  if (g !== undefined) acl.add(g);
  if (spec.flags.includes('write')) acl.add('write');
  if (spec.flags.includes('readonly')) acl.add('read');
  if (spec.flags.includes('admin')) { acl.add('admin'); acl.add('dangerous'); }
  if (spec.flags.includes('pubsub')) acl.add('pubsub');
  if (spec.flags.includes('fast')) acl.add('fast');
  if (spec.flags.includes('blocking')) acl.add('blocking');
  if (!acl.has('fast')) acl.add('slow');
  const keySpecs: KeySpecMeta[] = [];
  if (spec.firstKey > 0) {
    const write = spec.flags.includes('write');
    keySpecs.push({
      flags: write ? ['RW', 'update'] : ['RO', 'access'],
      bs: { type: 'index', index: spec.firstKey },
      fk: { type: 'range', lastkey: spec.lastKey >= 0 ? spec.lastKey - spec.firstKey : spec.lastKey, keystep: spec.step || 1, limit: 0 },
    });
  }
  return {
    arity: spec.arity, flags, acl: ACL_ORDER.filter((c) => acl.has(c)), tips: [], keySpecs,
    range: [spec.firstKey, spec.lastKey, spec.step], since: spec.since, group: spec.group,
  };
}

const bulk = (s: string): Buffer => Buffer.from(s, 'utf8');

function keySpecReply(k: KeySpecMeta): Reply {
  let bs: Reply;
  if (k.bs.type === 'index') bs = new MapReply([[bulk('type'), bulk('index')], [bulk('spec'), new MapReply([[bulk('index'), k.bs.index]])]]);
  else if (k.bs.type === 'keyword') {
    bs = new MapReply([[bulk('type'), bulk('keyword')], [bulk('spec'), new MapReply([[bulk('keyword'), bulk(k.bs.keyword)], [bulk('startfrom'), k.bs.startfrom]])]]);
  } else bs = new MapReply([[bulk('type'), bulk('unknown')], [bulk('spec'), new MapReply([])]]);
  let fk: Reply;
  if (k.fk.type === 'range') {
    fk = new MapReply([[bulk('type'), bulk('range')], [bulk('spec'), new MapReply([
      [bulk('lastkey'), k.fk.lastkey], [bulk('keystep'), k.fk.keystep], [bulk('limit'), k.fk.limit]])]]);
  } else if (k.fk.type === 'keynum') {
    fk = new MapReply([[bulk('type'), bulk('keynum')], [bulk('spec'), new MapReply([
      [bulk('keynumidx'), k.fk.keynumidx], [bulk('firstkey'), k.fk.firstkey], [bulk('keystep'), k.fk.keystep]])]]);
  } else fk = new MapReply([[bulk('type'), bulk('unknown')], [bulk('spec'), new MapReply([])]]);
  return new MapReply([[bulk('flags'), new SetReply(k.flags.slice())], [bulk('begin_search'), bs], [bulk('find_keys'), fk]]);
}

/** COMMAND INFO's description of one command (subcommands nested the same way). */
export function commandInfo<E>(spec: CommandSpec<E>, fullname: string): Reply {
  const m = metaFor(spec, fullname);
  return [
    bulk(fullname), spec.arity, new SetReply(m.flags.slice()), m.range[0], m.range[1], m.range[2],
    new SetReply(m.acl.map((c) => `@${c}`)), new SetReply(m.tips.map(bulk)), new SetReply(m.keySpecs.map(keySpecReply)),
    (spec.subcommands ?? []).map((s) => commandInfo(s, `${fullname}|${s.name}`)),
  ];
}

function argReply(a: ArgMeta): Reply {
  const e: Array<[Reply, Reply]> = [[bulk('name'), bulk(a.name)], [bulk('type'), bulk(a.type)]];
  if (a.key_spec_index !== undefined) e.push([bulk('key_spec_index'), a.key_spec_index]);
  if (a.token !== undefined) e.push([bulk('token'), bulk(a.token)]);
  if (a.since !== undefined) e.push([bulk('since'), bulk(a.since)]);
  if (a.deprecated_since !== undefined) e.push([bulk('deprecated_since'), bulk(a.deprecated_since)]);
  if (a.flags !== undefined) e.push([bulk('flags'), new SetReply(a.flags.slice())]);
  if (a.arguments !== undefined) e.push([bulk('arguments'), a.arguments.map(argReply)]);
  return new MapReply(e);
}

/** COMMAND DOCS' map for one command: summary, since, group, doc flags, arguments, subcommands. */
export function commandDocs<E>(spec: CommandSpec<E>, fullname: string): Reply {
  const m = metaFor(spec, fullname);
  const e: Array<[Reply, Reply]> = [
    [bulk('summary'), bulk(spec.summary)], [bulk('since'), bulk(m.since)], [bulk('group'), bulk(m.group)],
  ];
  if (m.docFlags !== undefined) e.push([bulk('doc_flags'), new SetReply(m.docFlags.slice())]);
  if (m.deprecatedSince !== undefined) e.push([bulk('deprecated_since'), bulk(m.deprecatedSince)]);
  if (m.args !== undefined) e.push([bulk('arguments'), m.args.map(argReply)]);
  if (spec.subcommands !== undefined && spec.subcommands.length > 0) {
    e.push([bulk('subcommands'), new MapReply(spec.subcommands.map((s) => {
      const full = `${fullname}|${s.name}`;
      return [bulk(full), commandDocs(s, full)];
    }))]);
  }
  return new MapReply(e);
}

/** A key found by COMMAND GETKEYS: its argv position and its key-spec flags. */
export interface FoundKey { pos: number; flags: string[] }

/**
 * Why: Redis's getKeysUsingKeySpecs, the one key extractor clients (cluster routing, ACL tools)
 * rely on through COMMAND GETKEYS. Walks every key spec that names real keys: find where the keys
 * begin (a fixed index, or after a keyword searched forwards or backwards), then which positions
 * are keys (a range relative to that start, optionally limited to a fraction of the remaining
 * arguments, or a count read from the arguments). Returns null when a spec cannot be applied to
 * these arguments (Redis's invalid_spec: "Invalid arguments specified for command").
 */
export function keysBySpecs(m: CommandMeta, argv: readonly Uint8Array[], arity: number): FoundKey[] | null {
  const argc = argv.length;
  const out: FoundKey[] = [];
  const lower = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1').toLowerCase();
  for (const spec of m.keySpecs) {
    if (spec.flags.includes('not_key')) continue;
    let first = 0;
    if (spec.bs.type === 'index') first = spec.bs.index;
    else if (spec.bs.type === 'keyword') {
      const from = spec.bs.startfrom;
      const start = from > 0 ? from : argc + from;
      const end = from > 0 ? argc - 1 : 1;
      const word = spec.bs.keyword.toLowerCase();
      for (let i = start; i !== end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1) break;
        if (lower(argv[i]!) === word) { first = i + 1; break; }
      }
      if (first === 0) continue;
    } else return null;
    let last: number, step: number;
    if (spec.fk.type === 'range') {
      step = spec.fk.keystep;
      if (spec.fk.lastkey >= 0) last = first + spec.fk.lastkey;
      else if (spec.fk.limit === 0) last = argc + spec.fk.lastkey;
      else last = first + (Math.trunc((argc - first) / spec.fk.limit) + spec.fk.lastkey);
    } else if (spec.fk.type === 'keynum') {
      step = spec.fk.keystep;
      if (spec.fk.keynumidx >= argc || first + spec.fk.keynumidx >= argc) return null;
      const s = lower(argv[first + spec.fk.keynumidx]!);
      if (!/^(0|-?[1-9]\d*)$/.test(s) || Number(s) < 0) return null;
      first += spec.fk.firstkey;
      last = first + Number(s) - 1;
    } else return null;
    if (last >= argc || last < first || first >= argc) return null;
    for (let i = first; i <= last; i += step) {
      if (i >= argc || i < first) {
        if (arity < 0) continue;
        return null;
      }
      out.push({ pos: i, flags: spec.flags });
    }
    if (spec.flags.includes('incomplete')) return null;
  }
  return out;
}

/** Whether a command has key arguments at all (doesCommandHaveKeys). */
export function hasKeys(m: CommandMeta): boolean {
  return m.keySpecs.some((k) => !k.flags.includes('not_key'));
}
