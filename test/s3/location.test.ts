import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { formatS3Url, locationHost, parseS3Url, sameHost } from '../../src/stores/s3-location.js';

test('s3 location: glance_store shape by endpoint scheme', () => {
  assert.is(formatS3Url('http://127.0.0.1:7480', 'AK', 'SK', 'images', 'id-1'), 's3://AK:SK@127.0.0.1:7480/images/id-1');
  assert.is(formatS3Url('https://s3.example.com/', 'AK', 'SK', 'images', 'id-1'), 's3+https://AK:SK@s3.example.com/images/id-1');
  assert.is(locationHost('http://h:1/'), 'h:1');
});

test('s3 location: parses glance forms, secrets with / and @, no credentials, a host with a path', () => {
  assert.equal(parseS3Url('s3://AK:SK@127.0.0.1:7480/images/id-1'), {
    scheme: 's3', accessKey: 'AK', secretKey: 'SK', host: '127.0.0.1:7480', bucket: 'images', key: 'id-1',
  });
  assert.equal(parseS3Url('s3+https://AK:a/b+c@d@s3.example.com/images/id-1'), {
    scheme: 's3+https', accessKey: 'AK', secretKey: 'a/b+c@d', host: 's3.example.com', bucket: 'images', key: 'id-1',
  });
  assert.equal(parseS3Url('s3+http://h/b/k'), { scheme: 's3+http', accessKey: null, secretKey: null, host: 'h', bucket: 'b', key: 'k' });
  assert.is(parseS3Url('s3://a:b@h:1/prefix/b/k')!.host, 'h:1/prefix');
  const bad = ['file:///x', 'rbd://a/b/c/d', 's3://a:b@h/k', 's3://a:b@https://h/b/k', 's3://ab@h/b/k', 's3://a:b@h//k', 'swift://a:b@h/b/k'];
  for (const u of bad) assert.is(parseS3Url(u), null, u);
});

test('s3 location: host comparison ignores case and default ports', () => {
  assert.ok(sameHost('S3.Example.com:443', 's3.example.com'));
  assert.ok(sameHost('h:80', 'h'));
  assert.not.ok(sameHost('h:7480', 'h:7481'));
  assert.not.ok(sameHost('h', 'g'));
});

test.run();
