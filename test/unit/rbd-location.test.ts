import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { formatRbdUrl, parseRbdUrl } from '../../src/stores/rbd-location.js';

test('rbd location: glance_store shape, quoting, legacy form, garbage', () => {
  const url = formatRbdUrl({ fsid: 'f-1', pool: 'my pool', image: 'abc', snap: 'snap' });
  assert.is(url, 'rbd://f-1/my%20pool/abc/snap');
  assert.equal(parseRbdUrl(url), { fsid: 'f-1', pool: 'my pool', image: 'abc', snap: 'snap' });
  assert.equal(parseRbdUrl('rbd://img'), { fsid: null, pool: null, image: 'img', snap: null });
  for (const bad of ['file:///x', 'rbd://', 'rbd://a/b', 'rbd://a//c/d', 'rbd://%zz/b/c/d']) assert.is(parseRbdUrl(bad), null, bad);
});

test.run();
