import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { parseIni } from '../../src/config/ini.js';

const val = (text: string, section: string, key: string) => parseIni(text).sections.get(section)?.get(key)?.value;

test('sections, comments and both separators', () => {
  const ini = parseIni('# top\n[DEFAULT]\n; note\na = 1\nb: 2\n\n[Glance_Store]\nc=3\n');
  assert.equal(ini.errors, []);
  assert.is(val('[DEFAULT]\na = 1', 'DEFAULT', 'a'), '1');
  assert.is(ini.sections.get('DEFAULT')?.get('b')?.value, '2');
  // oslo lower-cases group names except DEFAULT
  assert.is(ini.sections.get('glance_store')?.get('c')?.value, '3');
  assert.is(ini.sections.get('DEFAULT')?.get('a')?.line, 4);
});

test('the first of "=" and ":" separates key from value', () => {
  assert.is(val('[DEFAULT]\nenabled_backends = fast:file, slow:file', 'DEFAULT', 'enabled_backends'), 'fast:file, slow:file');
  assert.is(val('[DEFAULT]\nurl: http://x/?a=b', 'DEFAULT', 'url'), 'http://x/?a=b');
});

test('one pair of matching surrounding quotes is removed', () => {
  assert.is(val('[s]\nd = "fast local file store"', 's', 'd'), 'fast local file store');
  assert.is(val("[s]\nd = 'x'", 's', 'd'), 'x');
  assert.is(val('[s]\nd = ""quoted""', 's', 'd'), '"quoted"');
  assert.is(val('[s]\nd = "half', 's', 'd'), '"half');
  assert.is(val('[s]\nd = a "b" c', 's', 'd'), 'a "b" c');
  assert.is(val('[s]\nd = ', 's', 'd'), '');
});

test('no inline comments, values are taken verbatim', () => {
  assert.is(val('[s]\na = b # not a comment', 's', 'a'), 'b # not a comment');
  assert.is(val('[s]\na = true', 's', 'a'), 'true');
});

test('indented lines continue a value; a blank line ends it', () => {
  const ini = parseIni('[s]\na = one\n  two\n\tthree\n\nb = x\n');
  assert.is(ini.sections.get('s')?.get('a')?.value, 'one\ntwo\nthree');
  assert.is(ini.sections.get('s')?.get('b')?.value, 'x');
});

test('repeated keys and reopened sections: last wins', () => {
  const ini = parseIni('[s]\na = 1\n[t]\nx = 1\n[s]\na = 2\nb = 3\n');
  assert.is(ini.sections.get('s')?.get('a')?.value, '2');
  assert.is(ini.sections.get('s')?.get('b')?.value, '3');
});

test('CRLF line endings', () => {
  assert.is(val('[s]\r\na = 1\r\n', 's', 'a'), '1');
});

test('syntax errors carry line numbers', () => {
  const e = (text: string) => parseIni(text).errors;
  assert.is(e('a = 1\n')[0].line, 1);
  assert.match(e('a = 1\n')[0].message, /before any \[section\]/);
  assert.match(e('[s]\n\n  indented\n')[0].message, /continuation/);
  assert.is(e('[s]\n\n  indented\n')[0].line, 3);
  assert.match(e('[s\n')[0].message, /must end with/);
  assert.match(e('[]\n')[0].message, /empty section/);
  assert.match(e('[s]\njust words\n')[0].message, /no "=" or ":"/);
  assert.match(e('[s]\n= 1\n')[0].message, /empty option name/);
});

test.run();
