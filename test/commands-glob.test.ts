// Glob matcher unit cases (the differential test checks it against redis-server as well).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { globMatch } from '../engine/commands/glob.js';

const B = (s: string): Buffer => Buffer.from(s, 'latin1');
const m = (p: string, s: string, nocase = false): boolean => globMatch(B(p), B(s), nocase);

test('wildcards', () => {
  assert.ok(m('*', 'anything'));
  assert.ok(m('*', 'x'));
  assert.not.ok(m('*', '')); // the loop never runs on an empty string (KEYS * special-cases it)
  assert.not.ok(m('**', ''));
  assert.ok(m('', ''));
  assert.not.ok(m('', 'a'));
  assert.ok(m('a*', 'a'));
  assert.ok(m('a*b*c', 'aXXbYYc'));
  assert.not.ok(m('a*b*c', 'aXXbYY'));
  assert.ok(m('h?llo', 'hello'));
  assert.not.ok(m('h?llo', 'hllo'));
  assert.ok(m('*a', 'aaa'));
  assert.not.ok(m(`${'a*'.repeat(30)}b`, 'a'.repeat(60))); // no exponential blow-up
});

test('classes', () => {
  assert.ok(m('h[ae]llo', 'hallo'));
  assert.not.ok(m('h[ae]llo', 'hillo'));
  assert.ok(m('h[^e]llo', 'hallo'));
  assert.not.ok(m('h[^e]llo', 'hello'));
  assert.ok(m('h[a-c]llo', 'hbllo'));
  assert.ok(m('h[c-a]llo', 'hbllo')); // reversed range
  assert.ok(m('[\\]]', ']'));
  assert.ok(m('[a\\-z]', '-'));
  assert.not.ok(m('[a\\-z]', 'b'));
  assert.ok(m('[a-]', ']')); // the ']' is taken as the range end: range ']'..'a', class unterminated
  assert.not.ok(m('[a-]', '-'));
  assert.ok(m('[abc', 'c')); // unterminated class runs to the end
  assert.ok(m('[^', 'x'));
  assert.not.ok(m('[', 'x'));
  assert.ok(m('[]', ']') === false);
});

test('escapes and signed-char ranges', () => {
  assert.ok(m('\\*', '*'));
  assert.not.ok(m('\\*', 'a'));
  assert.ok(m('a\\', 'a\\')); // trailing backslash is literal
  // 'a'..0xff: 0xff is -1 as a C char, so the range is -1..97 after the swap
  assert.ok(m('[a-\xff]', '\x00'));
  assert.ok(m('[a-\xff]', '\xff'));
  assert.not.ok(m('[a-\xff]', 'b'));
});

test('nocase', () => {
  assert.ok(m('HeLLo', 'hello', true));
  assert.ok(m('[A-C]', 'b', true));
  assert.not.ok(m('HeLLo', 'hello'));
});

test.run();
