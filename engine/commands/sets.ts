/**
 * The sets command family: SADD SREM SISMEMBER SMISMEMBER SMEMBERS SCARD SPOP SRANDMEMBER SMOVE
 * SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN. Storage and encodings
 * live in engine/types/set.ts.
 *
 * Conventions (as in strings.ts)
 *  - Everything that can fail is checked before the first write, in Redis's order.
 *  - Multi-key commands snapshot each source (a small set's bytes are copied) before anything is
 *    written, since a write — even another key's lazy expiry — ends the life of keyspace views.
 *  - SPOP is not deterministic: it propagates what it did, as Redis 7.0 does — SREM key member per
 *    popped member (several → wrapped in MULTI/EXEC by the consumer), or DEL key when the count
 *    took the whole set.
 *  - Set replies (SMEMBERS, SINTER, SUNION, SDIFF, SPOP with count) are SetReply (RESP3 `~`);
 *    SRANDMEMBER with count and SMISMEMBER are arrays, as in Redis 7.0.
 *  - Reply order where Redis's is deterministic is kept: an intset iterates in numeric order, and
 *    a computed result (SUNION, SDIFF) is iterated from the set Redis builds for it, which is an
 *    intset — so numerically sorted — when all members are integers and there are few enough.
 */
import { Errors, ReplyError } from '../errors.js';
import { KEEP_TTL, NO_EXPIRE, VT_SET_INTSET, type Keyspace, type StoredValue } from '../keyspace/api.js';
import { intsetGet, intsetLength, intsetRemoveAll } from '../types/intset.js';
import {
  DEFAULT_SET_LIMITS, forEachSetMember, lookupSet, memberInt, setAdd, setCard, setIsMember, setMembers,
  setRandomMember, setRemove, storeSet, type SetLimits,
} from '../types/set.js';
import { isOpt, parseInt64 } from './args.js';
import type { EngineLike } from './engine-like.js';
import {
  MAX_RAND_REPLY, configInt, parseCollectionScanOptions, parseRandCount, pickDistinct, randIndex, scanCursorNumber,
  scanLarge,
} from './hashes.js';
import { globMatch } from './glob.js';
import { SetReply } from './types.js';
import type { CommandContext, CommandFlag, CommandSpec, Handler, Reply } from './types.js';

type Ctx = CommandContext<EngineLike>;

const W_SREM = Buffer.from('SREM');
const W_DEL = Buffer.from('DEL');

function ks(ctx: Ctx): Keyspace {
  return ctx.engine.keyspace;
}

function setLimits(engine: EngineLike): SetLimits {
  return { maxIntsetEntries: configInt(engine, 'set-max-intset-entries', DEFAULT_SET_LIMITS.maxIntsetEntries) };
}

/** Limits under which storeSet always builds a hashtable (SDIFF's copy-then-delete plan). */
const HASHTABLE_ONLY: SetLimits = { maxIntsetEntries: -1 };

function keyOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** A StoredValue that survives writes: a small set's bytes are copied (a large one is an object). */
function snapshot(sv: StoredValue): StoredValue {
  return sv.vt === VT_SET_INTSET ? { vt: sv.vt, blob: Buffer.from(sv.blob), large: null } : sv;
}

/**
 * The order in which Redis replies with a set it built for the result (SUNION, SDIFF, SPOP
 * taking everything): ascending numbers when that set would be an intset (all members integers,
 * at most set-max-intset-entries), else the insertion order (a hashtable's order is arbitrary).
 */
function resultOrder(members: Buffer[], limits: SetLimits, intsetPossible = true): Buffer[] {
  if (!intsetPossible || members.length > limits.maxIntsetEntries) return members;
  const ints: Array<[bigint, Buffer]> = [];
  for (const m of members) {
    const v = memberInt(m);
    if (v === null) return members;
    ints.push([v, m]);
  }
  ints.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return ints.map((p) => p[1]);
}

// ================================================================================================
// Single-key commands
// ================================================================================================

function saddCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const db = ctx.client.db;
  const key = argv[1]!;
  const sv = lookupSet(ks(ctx), db, key);
  const added = setAdd(ks(ctx), db, key, sv, argv.slice(2), setLimits(ctx.engine));
  if (added > 0) ctx.dirty(added);
  return added;
}

function sremCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const db = ctx.client.db;
  const key = argv[1]!;
  const sv = lookupSet(ks(ctx), db, key);
  if (sv === null) return 0;
  const removed = setRemove(ks(ctx), db, key, sv, argv.slice(2));
  if (removed > 0) ctx.dirty(removed);
  return removed;
}

function sismemberCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const sv = lookupSet(ks(ctx), ctx.client.db, argv[1]!);
  return sv !== null && setIsMember(sv, argv[2]!) ? 1 : 0;
}

function smismemberCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const sv = lookupSet(ks(ctx), ctx.client.db, argv[1]!);
  const out: Reply[] = [];
  for (let i = 2; i < argv.length; i++) out.push(sv !== null && setIsMember(sv, argv[i]!) ? 1 : 0);
  return out;
}

function scardCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const sv = lookupSet(ks(ctx), ctx.client.db, argv[1]!);
  return sv === null ? 0 : setCard(sv);
}

function smembersCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const sv = lookupSet(ks(ctx), ctx.client.db, argv[1]!);
  return new SetReply(sv === null ? [] : setMembers(sv));
}

/**
 * SPOP key [count].
 * Without count: one random member removed (nil for a missing key), propagated as SREM key member.
 * With count (parsed first: a non-negative int64, else "value is out of range, must be
 * positive"), Redis 7.0's three cases:
 *   count >= size      the whole set is returned and the key deleted; propagated as DEL key
 *   size-count > count/5   members are popped one at a time (SREM per member)
 *   otherwise          the `size-count` members that stay are picked at random and rebuilt into a
 *                      new set under the same key (TTL kept; it may become an intset again, as in
 *                      Redis), the rest is returned in the old set's order (SREM per member)
 */
function spopCommand(ctx: Ctx, argv: Buffer[]): Reply {
  if (argv.length > 3) throw Errors.syntax();
  const db = ctx.client.db;
  const key = argv[1]!;
  const space = ks(ctx);
  if (argv.length === 2) {
    const sv = lookupSet(space, db, key);
    if (sv === null) return null;
    const m = setRandomMember(sv);
    setRemove(space, db, key, sv, [m]);
    ctx.dirty();
    ctx.propagate([W_SREM, key, m]);
    return m;
  }
  const parsed = parseInt64(argv[2]!);
  if (parsed === null || parsed < 0) throw new ReplyError('ERR value is out of range, must be positive');
  const sv = lookupSet(space, db, key);
  if (sv === null || parsed === 0) return new SetReply([]);
  const size = setCard(sv);
  const limits = setLimits(ctx.engine);
  if (typeof parsed === 'bigint' || parsed >= size) {
    const members = resultOrder(setMembers(sv), limits);
    space.del(db, key);
    ctx.dirty(size);
    ctx.propagate([W_DEL, key]);
    return new SetReply(members);
  }
  const count = parsed;
  const remaining = size - count;
  const popped: Buffer[] = [];
  if (remaining * 5 > count) {
    if (sv.vt === VT_SET_INTSET) {
      const n = intsetLength(sv.blob);
      const values: bigint[] = [];
      for (const i of pickDistinct(n, count)) values.push(intsetGet(sv.blob, i));
      // Reply in pick order (random), as Redis emits each member as it pops it.
      for (let i = values.length - 1; i > 0; i--) {
        const j = randIndex(i + 1);
        const t = values[i]!; values[i] = values[j]!; values[j] = t;
      }
      const { blob } = intsetRemoveAll(sv.blob, values);
      space.putBlob(db, key, VT_SET_INTSET, blob, KEEP_TTL);
      for (const v of values) popped.push(Buffer.from(v.toString(), 'latin1'));
    } else {
      const c = sv.large!;
      for (let i = 0; i < count; i++) {
        const ref = c.randomRef();
        popped.push(Buffer.from(c.field(ref)));
        c.remove(ref);
      }
    }
  } else {
    const all = setMembers(sv);
    const keep = pickDistinct(all.length, remaining);
    const kept: Buffer[] = [];
    let k = 0;
    for (let i = 0; i < all.length; i++) {
      if (k < keep.length && keep[k] === i) { kept.push(all[i]!); k++; } else popped.push(all[i]!);
    }
    storeSet(space, db, key, kept, KEEP_TTL, limits);
  }
  ctx.dirty(count);
  for (const m of popped) ctx.propagate([W_SREM, key, m]);
  return new SetReply(popped);
}

/**
 * SRANDMEMBER key [count]. Without count: a random member or nil. With count (any int64 but
 * LONG_MIN, parsed first): 0 or missing key → empty array; negative → |count| members with
 * repetitions; >= size → the whole set; else count distinct random members.
 */
function srandmemberCommand(ctx: Ctx, argv: Buffer[]): Reply {
  if (argv.length > 3) throw Errors.syntax();
  const db = ctx.client.db;
  const key = argv[1]!;
  if (argv.length === 2) {
    const sv = lookupSet(ks(ctx), db, key);
    return sv === null ? null : setRandomMember(sv);
  }
  const count = parseRandCount(argv[2]!);
  const sv = lookupSet(ks(ctx), db, key);
  if (sv === null || count === 0n) return [];
  const size = setCard(sv);
  const out: Buffer[] = [];
  if (count < 0n) {
    const n = -count;
    if (n > BigInt(MAX_RAND_REPLY)) throw new ReplyError('ERR value is out of range');
    const all = sv.vt === VT_SET_INTSET ? setMembers(sv) : null;
    for (let i = 0; i < Number(n); i++) out.push(all !== null ? all[randIndex(all.length)]! : setRandomMember(sv));
    return out;
  }
  if (count >= BigInt(size)) return setMembers(sv);
  const k = Number(count);
  if (sv.vt === VT_SET_INTSET || k * 3 > size) {
    const all = setMembers(sv);
    const picked = pickDistinct(all.length, k).map((i) => all[i]!);
    // The order of a random sample carries no meaning; shuffle so it is not always ascending.
    for (let i = picked.length - 1; i > 0; i--) {
      const j = randIndex(i + 1);
      const t = picked[i]!; picked[i] = picked[j]!; picked[j] = t;
    }
    return picked;
  }
  const seen = new Set<string>();
  while (out.length < k) {
    const m = setRandomMember(sv);
    const id = keyOf(m);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(m);
  }
  return out;
}

/**
 * SMOVE source destination member. Redis's order: a missing source is 0 before any type check;
 * then both types; the same key is a membership test; a member not in the source is 0. Moving
 * deletes an emptied source and creates a missing destination.
 */
function smoveCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const db = ctx.client.db;
  const space = ks(ctx);
  const src = argv[1]!;
  const dst = argv[2]!;
  const member = argv[3]!;
  const srcValue = space.lookupValue(db, src);
  const dstValue = space.lookupValue(db, dst);
  if (srcValue === null) return 0;
  const s = lookupSet(space, db, src)!;
  if (dstValue !== null) lookupSet(space, db, dst);
  if (keyOf(src) === keyOf(dst)) return setIsMember(s, member) ? 1 : 0;
  if (!setIsMember(s, member)) return 0;
  setRemove(space, db, src, s, [member]);
  const d = space.lookupValue(db, dst);
  const added = setAdd(space, db, dst, d, [member], setLimits(ctx.engine));
  ctx.dirty(added > 0 ? 2 : 1);
  return 1;
}

function sscanCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const cursor = scanCursorNumber(argv[2]!);
  const sv = lookupSet(ks(ctx), ctx.client.db, argv[1]!);
  if (sv === null) return [Buffer.from('0'), []];
  const { count, pattern } = parseCollectionScanOptions(argv, 3);
  const out: Buffer[] = [];
  const push = (m: Uint8Array): void => {
    if (pattern !== null && !globMatch(pattern, m)) return;
    out.push(Buffer.isBuffer(m) ? m : Buffer.from(m));
  };
  if (sv.vt === VT_SET_INTSET) {
    forEachSetMember(sv, push);
    return [Buffer.from('0'), out];
  }
  const next = scanLarge(sv, cursor, count, (ref) => push(sv.large!.field(ref)));
  return [Buffer.from(String(next), 'latin1'), out];
}

// ================================================================================================
// Set algebra
// ================================================================================================

/** Looks up every key (missing → null), WRONGTYPE on the first key of another type. */
function sources(ctx: Ctx, keys: readonly Buffer[]): Array<StoredValue | null> {
  const out: Array<StoredValue | null> = [];
  for (const k of keys) {
    const sv = lookupSet(ks(ctx), ctx.client.db, k);
    out.push(sv === null ? null : snapshot(sv));
  }
  return out;
}

/**
 * The intersection, iterating the smallest set and probing the others (Redis's plan, so the
 * reply comes in the smallest set's order). Stops at `limit` members (0 = no limit).
 */
function intersect(sets: Array<StoredValue | null>, limit: number): Buffer[] {
  if (sets.some((s) => s === null)) return [];
  const ordered = (sets as StoredValue[]).slice().sort((a, b) => setCard(a) - setCard(b));
  const first = ordered[0]!;
  const rest = ordered.slice(1);
  const out: Buffer[] = [];
  // Copy the members out before probing: a lookup may advance a table's incremental rehash,
  // which must not happen under an iteration of the same table (SINTER s s).
  for (const m of setMembers(first)) {
    let everywhere = true;
    for (const s of rest) if (!setIsMember(s, m)) { everywhere = false; break; }
    if (!everywhere) continue;
    out.push(m);
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}

function union(sets: Array<StoredValue | null>): Buffer[] {
  const seen = new Set<string>();
  const out: Buffer[] = [];
  for (const s of sets) {
    if (s === null) continue;
    forEachSetMember(s, (m) => {
      const id = keyOf(m);
      if (seen.has(id)) return;
      seen.add(id);
      out.push(Buffer.from(m));
    });
  }
  return out;
}

/**
 * The difference first − others, and whether Redis's result set can be an intset. Redis picks one
 * of two plans by estimated work: (1) keep each member of the first set found in no other, or
 * (2) copy the whole first set, then delete the others' members. Plan 2 builds its result from
 * the whole first set, so if that set could not be an intset, neither is the result — visible in
 * OBJECT ENCODING after SDIFFSTORE and in the reply order — hence the same choice is made here.
 */
function difference(sets: Array<StoredValue | null>, limits: SetLimits): { members: Buffer[]; intsetPossible: boolean } {
  const first = sets[0];
  if (first === null || first === undefined) return { members: [], intsetPossible: true };
  let algoOne = 0;
  let algoTwo = 0;
  for (const s of sets) {
    if (s === null) continue;
    algoOne += setCard(first);
    algoTwo += setCard(s);
  }
  algoOne = Math.floor(algoOne / 2);
  const others = sets.slice(1).filter((s): s is StoredValue => s !== null);
  // Members copied before probing (see intersect: SDIFF s s probes the table it iterates).
  const members = setMembers(first).filter((m) => !others.some((s) => setIsMember(s, m)));
  let intsetPossible = true;
  if (algoOne > algoTwo) {
    const all = setMembers(first);
    intsetPossible = all.length <= limits.maxIntsetEntries && all.every((m) => memberInt(m) !== null);
  }
  return { members, intsetPossible };
}

type SetOp = 'inter' | 'union' | 'diff';

function compute(ctx: Ctx, op: SetOp, keys: readonly Buffer[], limits: SetLimits): { members: Buffer[]; intsetPossible: boolean } {
  const sets = sources(ctx, keys);
  if (op === 'inter') return { members: intersect(sets, 0), intsetPossible: true };
  if (op === 'union') return { members: union(sets), intsetPossible: true };
  return difference(sets, limits);
}

function setOpCommand(op: SetOp): Handler<EngineLike> {
  return (ctx, argv) => {
    const limits = setLimits(ctx.engine);
    const { members, intsetPossible } = compute(ctx, op, argv.slice(1), limits);
    return new SetReply(op === 'inter' ? members : resultOrder(members, limits, intsetPossible));
  };
}

/**
 * S*STORE destination key [key ...]: the result replaces destination (TTL dropped, any type), or
 * destination is deleted when the result is empty. Dirty (so propagated) only when something
 * changed: a stored result, or an existing destination deleted.
 */
function setOpStoreCommand(op: SetOp): Handler<EngineLike> {
  return (ctx, argv) => {
    const db = ctx.client.db;
    const dst = argv[1]!;
    const limits = setLimits(ctx.engine);
    const { members, intsetPossible } = compute(ctx, op, argv.slice(2), limits);
    const space = ks(ctx);
    if (members.length === 0) {
      if (space.del(db, dst)) ctx.dirty();
      return 0;
    }
    storeSet(space, db, dst, members, NO_EXPIRE, intsetPossible ? limits : HASHTABLE_ONLY);
    ctx.dirty();
    return members.length;
  };
}

/** SINTERCARD numkeys key [key ...] [LIMIT limit] */
function sintercardCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const numkeys = parseInt64(argv[1]!);
  if (numkeys === null || numkeys < 1) throw new ReplyError('ERR numkeys should be greater than 0');
  if (typeof numkeys === 'bigint' || numkeys > argv.length - 2) throw new ReplyError("ERR Number of keys can't be greater than number of args");
  let limit = 0;
  for (let j = 2 + Number(numkeys); j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (isOpt(argv[j]!, 'limit') && more > 0) {
      j++;
      const v = parseInt64(argv[j]!);
      if (v === null || v < 0) throw new ReplyError("ERR LIMIT can't be negative");
      limit = typeof v === 'bigint' ? Number.MAX_SAFE_INTEGER : v;
    } else {
      throw Errors.syntax();
    }
  }
  const sets = sources(ctx, argv.slice(2, 2 + Number(numkeys)));
  return intersect(sets, limit).length;
}

// ================================================================================================
// Command table
// ================================================================================================

function row(
  name: string, arity: number, flags: CommandFlag[], firstKey: number, lastKey: number, step: number,
  since: string, summary: string, handler: Handler<EngineLike>,
): CommandSpec<EngineLike> {
  return { name, arity, flags, firstKey, lastKey, step, group: 'set', since, summary, handler };
}

export const setsCommands: readonly CommandSpec<EngineLike>[] = [
  row('sadd', -3, ['write', 'denyoom', 'fast'], 1, 1, 1, '1.0.0', 'Add one or more members to a set.', saddCommand),
  row('srem', -3, ['write', 'fast'], 1, 1, 1, '1.0.0', 'Remove one or more members from a set.', sremCommand),
  row('sismember', 3, ['readonly', 'fast'], 1, 1, 1, '1.0.0', 'Determine whether a member belongs to a set.', sismemberCommand),
  row('smismember', -3, ['readonly', 'fast'], 1, 1, 1, '6.2.0', 'Determine whether several members belong to a set.', smismemberCommand),
  row('smembers', 2, ['readonly'], 1, 1, 1, '1.0.0', 'Return all members of a set.', smembersCommand),
  row('scard', 2, ['readonly', 'fast'], 1, 1, 1, '1.0.0', 'Return the number of members of a set.', scardCommand),
  row('spop', -2, ['write', 'fast'], 1, 1, 1, '1.0.0', 'Remove and return one or more random members of a set.', spopCommand),
  row('srandmember', -2, ['readonly'], 1, 1, 1, '1.0.0', 'Return one or more random members of a set.', srandmemberCommand),
  row('smove', 4, ['write', 'fast'], 1, 2, 1, '1.0.0', 'Move a member from one set to another.', smoveCommand),
  row('sinter', -2, ['readonly'], 1, -1, 1, '1.0.0', 'Return the intersection of sets.', setOpCommand('inter')),
  row('sintercard', -3, ['readonly'], 0, 0, 0, '7.0.0', 'Return the number of members in the intersection of sets.', sintercardCommand),
  row('sinterstore', -3, ['write', 'denyoom'], 1, -1, 1, '1.0.0', 'Store the intersection of sets in a key.', setOpStoreCommand('inter')),
  row('sunion', -2, ['readonly'], 1, -1, 1, '1.0.0', 'Return the union of sets.', setOpCommand('union')),
  row('sunionstore', -3, ['write', 'denyoom'], 1, -1, 1, '1.0.0', 'Store the union of sets in a key.', setOpStoreCommand('union')),
  row('sdiff', -2, ['readonly'], 1, -1, 1, '1.0.0', 'Return the difference of sets.', setOpCommand('diff')),
  row('sdiffstore', -3, ['write', 'denyoom'], 1, -1, 1, '1.0.0', 'Store the difference of sets in a key.', setOpStoreCommand('diff')),
  row('sscan', -3, ['readonly'], 1, 1, 1, '2.0.0', 'Iterate over the members of a set.', sscanCommand),
];
