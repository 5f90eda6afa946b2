/**
 * Runs commands through the Dispatcher over a keyspace, the way the engine will: one client, the
 * clock read once per command and given to both the keyspace and the handler.
 */
import { Dispatcher, type DispatchResult } from '../../engine/commands/dispatch.js';
import type { EngineLike } from '../../engine/commands/engine-like.js';
import { buildCommandTable } from '../../engine/commands/table.js';
import type { ClientState, Propagation, Reply } from '../../engine/commands/types.js';
import type { Keyspace } from '../../engine/keyspace/api.js';
import { ModelKeyspace } from './model-keyspace.js';
import * as assert from 'uvu/assert';
import { ReplyError } from '../../engine/errors.js';
import { createKeyspace } from '../../engine/keyspace/keyspace.js';
import { showReply, type Arg } from './resp-client.js';

export interface Harness {
  /** A label for messages ('shared', 'model'). */
  readonly name: string;
  readonly engine: EngineLike & { flushAllCalls: number };
  readonly dispatcher: Dispatcher<EngineLike>;
  readonly client: ClientState;
  /** Fixed clock when set, else Date.now(). */
  clock: number | null;
  /** Runs argv, returns the reply (copying the reused result). */
  run(...argv: Arg[]): Reply;
  /** Runs argv, returns a copy of the full DispatchResult. */
  exec(...argv: Arg[]): DispatchResult;
  /** Every propagation so far, as [db, 'ARG ARG ...'] strings for easy assertions. */
  readonly log: Array<[number, string]>;
  /** The same propagations as the dispatcher returned them (argv arrays copied). */
  readonly propagations: Propagation[];
}

export function toArgv(argv: readonly Arg[]): Buffer[] {
  return argv.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(String(a), 'latin1')));
}

export function showPropagation(p: Propagation): string {
  return p.argv.map((b) => b.toString('latin1')).join(' ');
}

export function makeHarness(keyspace: Keyspace = new ModelKeyspace(), name = 'model'): Harness {
  const engine = {
    keyspace,
    databases: keyspace.databases,
    protoMaxBulkLen: 512 * 1024 * 1024,
    flushAllCalls: 0,
    afterFlushAll(): void { engine.flushAllCalls++; },
  };
  const dispatcher = new Dispatcher<EngineLike>(engine, buildCommandTable());
  const client: ClientState = { id: 1, db: 0, resp: 2, name: null, multi: null };
  const log: Array<[number, string]> = [];
  const propagations: Propagation[] = [];
  const h: Harness = {
    name, engine, dispatcher, client, clock: null, log, propagations,
    exec(...argv: Arg[]): DispatchResult {
      const now = h.clock ?? Date.now();
      keyspace.now = now;
      const r = dispatcher.dispatch(client, toArgv(argv), now);
      for (const p of r.propagated) {
        log.push([p.db, showPropagation(p)]);
        propagations.push({ db: p.db, argv: [...p.argv] });
      }
      return { reply: r.reply, dirty: r.dirty, propagated: [...r.propagated], usec: r.usec };
    },
    run(...argv: Arg[]): Reply {
      return h.exec(...argv).reply;
    },
  };
  return h;
}

/** A reply that must be an error: its message (fails the test otherwise). */
export function replyErrorText(r: Reply): string {
  assert.instance(r, ReplyError, `expected an error, got ${showReply(r)}`);
  return (r as ReplyError).message;
}

/** A harness over the shared-memory keyspace; `config` directives override Redis's defaults. */
export function sharedHarness(config: Record<string, number> = {}): Harness {
  const h = makeHarness(createKeyspace(), 'shared');
  if (Object.keys(config).length > 0) {
    Object.assign(h.engine, { config: { getInt: (name: string): number => config[name] ?? NaN } });
  }
  return h;
}
