import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { DEFAULT_LIMIT, MAX_LIMIT, matches as passes, parseListQuery, sortImages } from '../../src/images/query.js';
import { HttpError } from '../../src/util/errors.js';
import type { ImageRecord } from '../../src/images/record.js';

// GET /v2/images query parsing (Glance's filters, sort keys, paging) and the sort, without a daemon.

const t = suite('images/query: list filters, sorting and paging');
const q = (s: string) => parseListQuery(new URLSearchParams(s));
const bad = (s: string, message: RegExp) => {
  try {
    q(s);
  } catch (e) {
    assert.instance(e, HttpError, s);
    assert.is((e as HttpError).status, 400, s);
    assert.match((e as HttpError).message, message, s);
    return;
  }
  assert.unreachable(`${s} was accepted`);
};

const base: ImageRecord = {
  id: '00000000-0000-0000-0000-000000000000', name: null, status: 'queued', visibility: 'shared', protected: false, os_hidden: false,
  owner: 'p1', checksum: null, os_hash_algo: null, os_hash_value: null, xxh3: null, size: null, virtual_size: null, min_ram: 0, min_disk: 0,
  disk_format: 'raw', container_format: 'bare', created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z', tags: [], properties: {}, locations: [],
};
const img = (o: Partial<ImageRecord>): ImageRecord => ({ ...base, ...o });
const matches = (s: string, i: ImageRecord) => q(s).filters.every((f) => passes(i, f));

t('defaults: limit 25, no marker, sort created_at desc then id desc, no visibility or os_hidden', () => {
  assert.equal(q(''), { filters: [], visibility: null, osHidden: null, sort: [{ key: 'created_at', dir: 'desc' }, { key: 'id', dir: 'desc' }], limit: DEFAULT_LIMIT, marker: null, memberStatus: 'accepted' });
  assert.is(DEFAULT_LIMIT, 25);
});

t('limit and marker', () => {
  assert.is(q('limit=0').limit, 0);
  assert.is(q('limit=7').limit, 7);
  assert.is(q('limit= 7 ').limit, 7);
  assert.is(q(`limit=${MAX_LIMIT}`).limit, MAX_LIMIT);
  assert.is(q(`limit=${MAX_LIMIT + 1}`).limit, MAX_LIMIT);
  assert.is(MAX_LIMIT, 1000);
  assert.is(q('marker=abc').marker, 'abc');
  for (const v of ['-1', 'x', '1.5', '', '1e3']) bad(`limit=${v}`, new RegExp(`Invalid value for limit: ${v.replace('.', '\\.')}; expected a non-negative integer`));
});

t('sort, sort_key and sort_dir as Glance: keys from its eight, dirs asc|desc, tie-breakers appended', () => {
  assert.equal(q('sort=name:asc,size').sort, [{ key: 'name', dir: 'asc' }, { key: 'size', dir: 'desc' }, { key: 'created_at', dir: 'desc' }, { key: 'id', dir: 'desc' }]);
  assert.equal(q('sort= status:desc ').sort.slice(0, 1), [{ key: 'status', dir: 'desc' }]);
  assert.equal(q('sort=created_at:asc').sort, [{ key: 'created_at', dir: 'asc' }, { key: 'id', dir: 'desc' }]);
  assert.equal(q('sort=created_at:asc,name:asc').sort, [{ key: 'created_at', dir: 'asc' }, { key: 'name', dir: 'asc' }, { key: 'id', dir: 'desc' }]);
  assert.equal(q('sort=id:asc').sort, [{ key: 'id', dir: 'asc' }, { key: 'created_at', dir: 'desc' }]);
  assert.equal(q('sort_key=name&sort_key=size&sort_dir=asc').sort.slice(0, 2), [{ key: 'name', dir: 'asc' }, { key: 'size', dir: 'asc' }]);
  assert.equal(q('sort_key=name,size&sort_dir=asc,desc').sort.slice(0, 2), [{ key: 'name', dir: 'asc' }, { key: 'size', dir: 'desc' }]);
  assert.equal(q('sort_key= name , size ').sort.slice(0, 2), [{ key: 'name', dir: 'desc' }, { key: 'size', dir: 'desc' }]);
  assert.equal(q('sort_dir=asc').sort, [{ key: 'created_at', dir: 'asc' }, { key: 'id', dir: 'desc' }]);
  assert.equal(q('sort_dir= asc ').sort[0], { key: 'created_at', dir: 'asc' });
  for (const k of ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at']) assert.is(q(`sort_key=${k}`).sort[0].key, k);
  bad('sort=owner:asc', /^Invalid sort key: owner\. It must be one of the following: name, status, container_format, disk_format, size, id, created_at, updated_at\.$/);
  bad('sort_key=visibility', /^Invalid sort key: visibility\. It must be one of the following: name, status/);
  bad('sort=name:up', /^Invalid sort direction: up$/);
  bad('sort_dir=sideways', /^Invalid sort direction: sideways$/);
  bad('sort=name&sort_key=size', /cannot be combined/);
  bad('sort=name&sort_dir=asc', /cannot be combined/);
  bad('sort_key=name,size,status&sort_dir=asc,desc', /^Number of sort dirs does not match the number of sort keys$/);
});

t('visibility, os_hidden, member_status', () => {
  for (const v of ['public', 'private', 'shared', 'community', 'all']) assert.is(q(`visibility=${v}`).visibility, v);
  bad('visibility=everyone', /^Invalid visibility value: everyone$/);
  for (const v of ['true', 'True', '1', 'yes', 'on']) assert.is(q(`os_hidden=${v}`).osHidden, true, v);
  for (const v of ['false', 'FALSE', '0', 'no', 'off']) assert.is(q(`os_hidden=${v}`).osHidden, false, v);
  bad('os_hidden=maybe', /^Invalid value for os_hidden: maybe; expected a boolean$/);
  for (const v of ['pending', 'accepted', 'rejected', 'all']) {
    assert.equal(q(`member_status=${v}`).filters, []);
    assert.is(q(`member_status=${v}`).memberStatus, v);
  }
  bad('member_status=bogus', /^Invalid status: bogus$/); // Glance's words
});

t('filters: status, names and formats with in: lists, owner, id, tag', () => {
  const a = img({ name: 'a', status: 'active', owner: 'p1', tags: ['x', 'y'] });
  assert.ok(matches('status=active', a));
  assert.not.ok(matches('status=queued', a));
  assert.not.ok(matches('status=bogus', a));
  assert.ok(matches('status=in:queued,active', a));
  assert.ok(matches('name=a', a));
  assert.not.ok(matches('name=b', a));
  assert.ok(matches('name=in:b,"a"', a));
  assert.not.ok(matches('name=in:b,c', a));
  assert.not.ok(matches('name=in:a,b', img({ name: 'in:a,b' })));
  assert.ok(matches('name=xin:a', img({ name: 'xin:a' })));
  // a value is unquoted only when it is wholly in double quotes
  assert.ok(matches('name=in:"ab"', img({ name: 'ab' })));
  assert.ok(matches('name=in:x"a"', img({ name: 'x"a"' })));
  assert.ok(matches('name=in:"a"b', img({ name: '"a"b' })));
  assert.ok(matches('name=in:"a', img({ name: '"a' })));
  assert.ok(matches('disk_format=in:qcow2,raw&container_format=in:ovf,bare&owner=in:p2,p1', a));
  assert.ok(matches(`id=in:x,${a.id}`, a));
  assert.not.ok(matches('disk_format=in:qcow2', a));
  assert.ok(matches('disk_format=raw&container_format=bare', a));
  assert.not.ok(matches('disk_format=qcow2', a));
  assert.ok(matches('owner=p1', a));
  assert.not.ok(matches('owner=p2', a));
  assert.ok(matches(`id=${a.id}`, a));
  assert.ok(matches('tag=x&tag=y', a));
  assert.not.ok(matches('tag=x&tag=z', a));
});

t('filters: size_min/size_max (inclusive, no size never matches), protected', () => {
  const s = img({ size: 100 });
  assert.ok(matches('size_min=100', s));
  assert.not.ok(matches('size_min=101', s));
  assert.ok(matches('size_max=100', s));
  assert.not.ok(matches('size_max=99', s));
  assert.not.ok(matches('size_min=0', img({ size: null })));
  assert.not.ok(matches('size_max=1000', img({ size: null })));
  bad('size_min=abc', /^Invalid value for size_min: abc; expected a non-negative integer$/);
  bad('size_max=-1', /^Invalid value for size_max: -1/);
  assert.ok(matches('protected=true', img({ protected: true })));
  assert.not.ok(matches('protected=false', img({ protected: true })));
  assert.ok(matches('protected=no', img({ protected: false })));
  bad('protected=perhaps', /^Invalid value for protected: perhaps; expected a boolean$/);
});

t('filters: created_at/updated_at with gt, gte, lt, lte, eq, neq or a bare time', () => {
  const at = '2026-06-01T12:00:00Z';
  const i = img({ created_at: at, updated_at: at });
  const cases: Array<[string, string, boolean]> = [
    ['gt', '2026-06-01T11:59:59Z', true], ['gt', at, false],
    ['gte', at, true], ['gte', '2026-06-01T11:59:59Z', true], ['gte', '2026-06-01T12:00:01Z', false],
    ['lt', '2026-06-01T12:00:01Z', true], ['lt', at, false],
    ['lte', at, true], ['lte', '2026-06-01T12:00:01Z', true], ['lte', '2026-06-01T11:59:59Z', false],
    ['eq', at, true], ['eq', '2026-06-01T11:59:59Z', false],
    ['neq', '2026-06-01T11:59:59Z', true], ['neq', at, false],
  ];
  for (const [op, v, want] of cases) {
    assert.is(matches(`created_at=${op}:${v}`, i), want, `created_at ${op} ${v}`);
    assert.is(matches(`updated_at=${op}:${v}`, i), want, `updated_at ${op} ${v}`);
  }
  assert.ok(matches(`created_at=${at}`, i));
  assert.not.ok(matches('created_at=2026-06-01T12:00:01Z', i));
  bad('created_at=gt:yesterday', /^Invalid time format for created_at: yesterday$/);
  bad('updated_at=soon', /^Invalid time format for updated_at: soon$/);
  bad('created_at=like:2026-06-01T12:00:00Z', /Invalid time format for created_at: like:2026/);
});

t('any other key filters on an extra property (or a field), as a string', () => {
  const i = img({ properties: { os_distro: 'debian', n: 3 }, min_ram: 512 });
  assert.ok(matches('os_distro=debian', i));
  assert.not.ok(matches('os_distro=ubuntu', i));
  assert.ok(matches('n=3', i));
  assert.ok(matches('min_ram=512', i));
  assert.not.ok(matches('hw_arch=undefined', i));
  assert.not.ok(matches('missing=', i));
});

t('sortImages: keys in order, asc/desc, nulls first ascending, numbers numerically, booleans', () => {
  const mk = (id: string, o: Partial<ImageRecord>) => img({ id, ...o });
  const imgs = [mk('a', { size: 10, name: 'b' }), mk('b', { size: 9, name: 'a' }), mk('c', { size: null, name: 'a' }), mk('d', { size: 100, name: 'c' })];
  const ids = (s: string) => sortImages([...imgs], q(s).sort).map((i) => i.id);
  assert.equal(ids('sort=size:asc'), ['c', 'b', 'a', 'd']);
  assert.equal(ids('sort=size:desc'), ['d', 'a', 'b', 'c']);
  assert.equal(ids('sort=name:asc,size:asc'), ['c', 'b', 'a', 'd']);
  assert.equal(ids('sort=name:asc,size:desc'), ['b', 'c', 'a', 'd']);
  assert.equal(ids('sort=name:desc'), ['d', 'a', 'c', 'b'], 'ties on name broken by created_at then id, both desc');
  const bools = [mk('t', { protected: true }), mk('f', { protected: false })];
  assert.equal(sortImages(bools, [{ key: 'protected', dir: 'asc' }]).map((i) => i.id), ['f', 't']);
  const nulls = [mk('n', { name: null }), mk('x', { name: 'x' }), mk('m', { name: null })];
  assert.equal(sortImages(nulls, [{ key: 'name', dir: 'asc' }, { key: 'id', dir: 'asc' }]).map((i) => i.id), ['m', 'n', 'x']);
  assert.equal(sortImages([mk('x', { name: 'x' }), mk('n', { name: null })], [{ key: 'name', dir: 'asc' }]).map((i) => i.id), ['n', 'x']);
  for (const order of [[mk('a', { name: 'a' }), mk('n', { name: null })], [mk('n', { name: null }), mk('a', { name: 'a' })]]) {
    assert.equal(sortImages(order, [{ key: 'name', dir: 'asc' }]).map((i) => i.id), ['n', 'a'], 'null before any string');
  }
  assert.equal(sortImages([mk('2', { name: 'b' }), mk('1', { name: 'a' })], [{ key: 'name', dir: 'asc' }]).map((i) => i.id), ['1', '2']);
  assert.equal(sortImages([mk('1', { size: 9 }), mk('2', { size: 10 })], [{ key: 'size', dir: 'asc' }]).map((i) => i.id), ['1', '2'], 'numbers, not strings');
});

t.run();
