import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { parseRange } from '../../src/util/range.js';
import { HttpError } from '../../src/util/errors.js';

// parseRange against Glance's get_range_from_request and image_data.download (webob's parsing).

const t = suite('util/range: Range and legacy Content-Range request headers');
const N = 1000;

function refused(range: string | undefined, contentRange: string | undefined, size: number, status: number, message?: RegExp) {
  try {
    parseRange(range, contentRange, size);
  } catch (e) {
    assert.instance(e, HttpError);
    const err = e as HttpError;
    assert.is(err.status, status, `${range} / ${contentRange}`);
    if (status === 416) assert.equal(err.headers, { 'Content-Range': `bytes */${size}` });
    if (message) assert.match(err.message, message);
    return;
  }
  assert.unreachable(`${range} / ${contentRange} on ${size} bytes was accepted`);
}

t('no header → null', () => {
  assert.is(parseRange(undefined, undefined, N), null);
  assert.is(parseRange(undefined, undefined, 0), null);
});

t('satisfiable ranges give inclusive [start, end] clamped to the image', () => {
  const cases: Array<[string, number, number]> = [
    ['bytes=0-0', 0, 0],
    ['bytes=0-499', 0, 499],
    ['bytes=500-', 500, 999],
    ['bytes=999-', 999, 999],
    ['bytes=999-999', 999, 999],
    ['bytes=10-5000', 10, 999],
    ['bytes=0-999', 0, 999],
    ['bytes=0-1000', 0, 999],
    ['bytes=-1', 999, 999],
    ['bytes=-100', 900, 999],
    ['bytes=-1000', 0, 999],
    ['bytes=-5000', 0, 999],
    ['  bytes = 3 - 7 ', 3, 7],
    ['BYTES=1-2', 1, 2],
    ['bytes=5-5', 5, 5],
  ];
  for (const [h, start, end] of cases) assert.equal(parseRange(h, undefined, N), { start, end }, h);
  // Range wins over Content-Range
  assert.equal(parseRange('bytes=1-2', 'bytes 5-6/*', N), { start: 1, end: 2 });
});

t('unsatisfiable or malformed ranges → 416 with bytes */size; multiple → 400', () => {
  for (const h of ['bytes=1000-', `bytes=${N}-${N}`, 'bytes=5000-6000', 'bytes=-0', 'bytes=5-4', 'bytes=-', 'bytes=', 'bytes=a-b', 'pages=1-2', 'bytes 1-2', 'bytes=1-2-3', '=1-2', 'xbytes=1-2']) {
    refused(h, undefined, N, 416);
  }
  refused('bytes=5-4', undefined, N, 416, /Invalid Range header: bytes=5-4/);
  refused('bytes=abc', undefined, N, 416, /Invalid Range header/);
  refused('pages=1-2', undefined, N, 416, /^Invalid Range header: pages=1-2$/);
  refused('bytes=-', undefined, N, 416, /^Invalid Range header: bytes=-$/);
  refused('bytes=1000-', undefined, N, 416, /not satisfiable for an image of 1000 bytes/);
  refused('bytes=0-1,5-6', undefined, N, 400, /Multiple ranges/);
  for (const h of ['bytes=0-0', 'bytes=0-', 'bytes=-1', 'bytes=-5']) refused(h, undefined, 0, 416);
});

t('legacy Content-Range in the request: bytes a-b/* or /total, stop inside the image for *', () => {
  assert.equal(parseRange(undefined, 'bytes 0-0/*', N), { start: 0, end: 0 });
  assert.equal(parseRange(undefined, 'bytes 10-19/*', N), { start: 10, end: 19 });
  assert.equal(parseRange(undefined, 'bytes 0-999/*', N), { start: 0, end: 999 });
  assert.equal(parseRange(undefined, ' BYTES 1-2/1000 ', N), { start: 1, end: 2 });
  assert.equal(parseRange(undefined, 'bytes  1-2/*', N), { start: 1, end: 2 });
  // with a total, a stop beyond the image is clamped (Glance reads what there is)
  assert.equal(parseRange(undefined, 'bytes 900-1999/2000', N), { start: 900, end: 999 });
  assert.equal(parseRange(undefined, 'bytes 999-999/2000', N), { start: 999, end: 999 });
  refused(undefined, 'bytes 0-1000/*', N, 416, /stop position .* \[0, 999\]/);
  refused(undefined, 'bytes 5-2/*', N, 416, /Invalid Content-Range header: bytes 5-2/);
  refused(undefined, 'bytes 1000-1000/2000', N, 416, /not satisfiable/);
  for (const h of ['bytes 1-2', 'xbytes 1-2/*', 'bytes=1-2/*', 'bytes -2/*', 'bytes 1-/*', 'items 1-2/*', 'bytes 1-2/x', 'bytes 1-2/*x']) refused(undefined, h, N, 416, /Invalid Content-Range header/);
  refused(undefined, 'bytes 0-0/*', 0, 416);
  refused(undefined, 'bytes 0-0/5', 0, 416);
});

t.run();
