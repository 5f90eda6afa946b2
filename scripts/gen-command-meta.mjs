// Generates engine/commands/command-meta.ts: the facts COMMAND INFO and COMMAND DOCS report for
// every command in forkless's table, read from a Redis 7.0 checkout's src/commands/*.json.
//
//   npm run build && node scripts/gen-command-meta.mjs /path/to/redis/src/commands > engine/commands/command-meta.ts
//
// Only facts are taken: flags, ACL categories (explicit plus the implicit ones Redis derives from
// the flags), key specs (without their free-text notes), tips, the legacy first/last/step range
// Redis computes from the key specs, doc flags, deprecation version, and the argument grammar
// (names, types, tokens, optional/multiple flags, since). No summaries, complexity texts, history
// entries or notes: those are Redis's prose; the rows' own summaries are used instead.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildCommandTable } from '../dist/engine/commands/table.js';
import { serverCommands } from '../dist/engine/commands/server.js';
import { transactionCommands } from '../dist/engine/commands/transactions.js';
import { pubsubCommands } from '../dist/engine/commands/pubsub.js';
import { introspectionCommands } from '../dist/engine/commands/introspection.js';
import { frontEndCommands } from '../dist/engine/commands/front-end.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/gen-command-meta.mjs <redis>/src/commands');
  process.exit(1);
}

// Redis's flag names in COMMAND INFO order (addReplyFlagsForCommand); hidden ones are omitted.
const FLAG_ORDER = ['WRITE', 'READONLY', 'DENYOOM', 'MODULE', 'ADMIN', 'PUBSUB', 'NOSCRIPT', 'BLOCKING', 'LOADING', 'STALE',
  'SKIP_MONITOR', 'SKIP_SLOWLOG', 'ASKING', 'FAST', 'NO_AUTH', 'NO_MANDATORY_KEYS', 'NO_ASYNC_LOADING', 'NO_MULTI',
  'MOVABLE_KEYS', 'ALLOW_BUSY'];
const FLAG_NAME = { MOVABLE_KEYS: 'movablekeys' };
// ACL categories in Redis's ACLCommandCategories order.
const ACL_ORDER = ['keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo',
  'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting'];
const KEY_FLAG_ORDER = ['RO', 'RW', 'OW', 'RM', 'ACCESS', 'UPDATE', 'INSERT', 'DELETE', 'NOT_KEY', 'INCOMPLETE', 'VARIABLE_FLAGS'];
const KEY_FLAG_NAME = { RO: 'RO', RW: 'RW', OW: 'OW', RM: 'RM' };

const byName = new Map();
for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
  const doc = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  for (const [name, v] of Object.entries(doc)) {
    const full = v.container ? `${v.container.toLowerCase()}|${name.toLowerCase()}` : name.toLowerCase();
    byName.set(full, v);
  }
}

function keySpec(k) {
  const bs = k.begin_search.index ? { type: 'index', index: k.begin_search.index.pos }
    : k.begin_search.keyword ? { type: 'keyword', keyword: k.begin_search.keyword.keyword, startfrom: k.begin_search.keyword.startfrom }
      : { type: 'unknown' };
  const fk = k.find_keys.range ? { type: 'range', lastkey: k.find_keys.range.lastkey, keystep: k.find_keys.range.step, limit: k.find_keys.range.limit }
    : k.find_keys.keynum ? { type: 'keynum', keynumidx: k.find_keys.keynum.keynumidx, firstkey: k.find_keys.keynum.firstkey, keystep: k.find_keys.keynum.step }
      : { type: 'unknown' };
  const flags = KEY_FLAG_ORDER.filter((f) => (k.flags ?? []).includes(f)).map((f) => KEY_FLAG_NAME[f] ?? f.toLowerCase());
  return { flags, bs, fk };
}

/** populateCommandLegacyRangeSpec: the first/last/step COMMAND INFO shows, and movablekeys. */
function legacyRange(specs) {
  let movable = false;
  if (specs.length === 0) return { range: [0, 0, 0], movable };
  if (specs.length === 1 && specs[0].bs.type === 'index' && specs[0].fk.type === 'range') {
    const s = specs[0];
    if (s.flags.includes('incomplete')) movable = true;
    const last = s.fk.lastkey >= 0 ? s.fk.lastkey + s.bs.index : s.fk.lastkey;
    return { range: [s.bs.index, last, s.fk.keystep], movable };
  }
  let first = Infinity, last = 0, prevLast = 0;
  for (const s of specs) {
    if (s.bs.type !== 'index' || s.fk.type !== 'range') { movable = true; continue; }
    if (s.fk.keystep !== 1 || (prevLast && prevLast !== s.bs.index - 1)) { movable = true; continue; }
    if (s.flags.includes('incomplete')) movable = true;
    first = Math.min(first, s.bs.index);
    let abs = s.fk.lastkey;
    if (abs >= 0) abs += s.bs.index;
    last = (last >>> 0) > (abs >>> 0) ? last : abs; // unsigned comparison, as Redis
    prevLast = last;
  }
  if (first === Infinity) return { range: [0, 0, 0], movable: true };
  const rel = last < 0 ? last : last - first;
  return { range: [first, rel >= 0 ? rel + first : rel, 1], movable };
}

/** As Redis's generate-command-code.py: argument names in lower case, tokens in upper case. */
function arg(a) {
  const out = { name: a.name.toLowerCase(), type: a.type };
  if (a.key_spec_index !== undefined) out.key_spec_index = a.key_spec_index;
  if (a.token !== undefined) out.token = a.token.toUpperCase();
  if (a.since !== undefined) out.since = a.since;
  if (a.deprecated_since !== undefined) out.deprecated_since = a.deprecated_since;
  const flags = [];
  if (a.optional) flags.push('optional');
  if (a.multiple) flags.push('multiple');
  if (a.multiple_token) flags.push('multiple_token');
  if (flags.length) out.flags = flags;
  if (a.arguments) out.arguments = a.arguments.map(arg);
  return out;
}

function meta(full) {
  const v = byName.get(full);
  if (!v) return null;
  const raw = v.command_flags ?? [];
  const specs = (v.key_specs ?? []).map(keySpec);
  const { range, movable } = legacyRange(specs);
  const flagSet = new Set(raw);
  if (movable) flagSet.add('MOVABLE_KEYS');
  const flags = FLAG_ORDER.filter((f) => flagSet.has(f)).map((f) => FLAG_NAME[f] ?? f.toLowerCase());
  const acl = new Set((v.acl_categories ?? []).map((c) => c.toLowerCase()));
  if (flagSet.has('WRITE')) acl.add('write');
  if (flagSet.has('READONLY') && !acl.has('scripting')) acl.add('read');
  if (flagSet.has('ADMIN')) { acl.add('admin'); acl.add('dangerous'); }
  if (flagSet.has('PUBSUB')) acl.add('pubsub');
  if (flagSet.has('FAST')) acl.add('fast');
  if (flagSet.has('BLOCKING')) acl.add('blocking');
  if (!acl.has('fast')) acl.add('slow');
  const m = { arity: v.arity, flags, acl: ACL_ORDER.filter((c) => acl.has(c)), tips: (v.command_tips ?? []).map((t) => t.toLowerCase()), keySpecs: specs, range, since: v.since, group: v.group.replace(/_/g, '-') };
  const docFlags = (v.doc_flags ?? []).map((f) => f.toLowerCase());
  if (docFlags.length) m.docFlags = docFlags;
  if (v.deprecated_since) m.deprecatedSince = v.deprecated_since;
  if (v.arguments) m.args = v.arguments.map(arg);
  return m;
}

const table = buildCommandTable(serverCommands, transactionCommands, pubsubCommands, introspectionCommands, frontEndCommands);
const entries = [];
const missing = [];
const visit = (spec, parent) => {
  const full = parent ? `${parent}|${spec.name}` : spec.name;
  const m = meta(full);
  if (m) entries.push([full, m]); else missing.push(full);
  for (const sub of spec.subcommands ?? []) visit(sub, full);
};
for (const spec of table) visit(spec, null);
entries.sort((a, b) => (a[0] < b[0] ? -1 : 1));

const out = [];
out.push('// GENERATED by scripts/gen-command-meta.mjs from Redis 7.0.15 src/commands/*.json. Do not edit; rerun the');
out.push('// script after adding commands. Facts only (flags, ACL categories, key specs without notes, tips,');
out.push('// argument grammar); the summaries COMMAND DOCS shows come from the command table rows.');
out.push("import type { CommandMeta } from './command-info.js';");
out.push('');
out.push('export const COMMAND_META: Readonly<Record<string, CommandMeta>> = {');
for (const [full, m] of entries) out.push(`  ${JSON.stringify(full)}: ${JSON.stringify(m)},`);
out.push('};');
if (missing.length) out.push(`\n// Not in Redis 7.0's table (COMMAND describes them from their rows): ${missing.join(', ')}`);
process.stdout.write(out.join('\n') + '\n');
