import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { cephDir, readEnvFile } from '../helpers/envfile.js';
import { startTestDaemon, ADMIN } from '../helpers/daemon.js';
import { request, createImage, upload } from '../helpers/http.js';
import type { StoreConfig } from '../../src/config/index.js';

// The swift store against the Swift API of Ceph's RGW (the cluster test/run starts with RGW on).

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

function rgwSwift() {
  const dir = cephDir();
  const env = readEnvFile(dir, 'IMAGED_CEPH_RGW=1 test/env/ceph.sh start');
  if (!env.SWIFT_AUTH_URL) throw new Error(`the Ceph test cluster at ${dir} runs without RGW: start it with IMAGED_CEPH_RGW=1`);
  return { authUrl: env.SWIFT_AUTH_URL, user: env.SWIFT_USER, key: env.SWIFT_KEY };
}

test('swift store on RGW: small and segmented images round-trip, ranges, delete removes the segments', async () => {
  const rgw = rgwSwift();
  const d = await startTestDaemon({
    tweak: (c) => {
      const store: StoreConfig = {
        ...c.stores[0], id: 'rgw', type: 'swift', description: 'RGW Swift', weight: 0, isDefault: true, datadir: undefined,
        options: {}, thinProvisioning: false,
        swift: {
          authAddress: rgw.authUrl, user: rgw.user, key: rgw.key, authVersion: '1', container: 'imaged-rgw', createContainerOnPut: true,
          largeObjectSize: 2 * MiB, largeObjectChunkSize: 1 * MiB, configFile: null, reference: 'ref1', region: '',
          endpointType: 'publicURL', serviceType: 'object-store', insecure: false, retryGetCount: 1,
        },
      };
      c.stores = [store, { ...c.stores[0], id: 'local', isDefault: false }];
      c.defaultStore = 'rgw';
      c.multiStore = true;
    },
  });
  try {
    for (let i = 0; i < 100; i++) {
      const s = (await request(`${d.url}/v2/info/stores/detail`, { headers: ADMIN })).json.stores.find((x: any) => x.id === 'rgw');
      if (!s.unavailable) break;
      if (i === 99) throw new Error(`rgw swift store unavailable: ${s.unavailable}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const size of [300 * 1024, 5 * MiB + 7]) {
      const data = randomBytes(size);
      const img = await createImage(d.url, { name: `rgw-${size}` });
      assert.is((await upload(d.url, img.id, data)).status, 204);
      const s = (await request(`${d.url}/v2/images/${img.id}`)).json;
      assert.is(s.status, 'active');
      assert.is(s.stores, 'rgw');
      assert.is(s.checksum, md5(data));
      assert.ok((await request(`${d.url}/v2/images/${img.id}/file`)).body.equals(data));
      const rg = await request(`${d.url}/v2/images/${img.id}/file`, { headers: { Range: `bytes=${size - 100}-` } });
      assert.is(rg.status, 206);
      assert.ok(rg.body.equals(data.subarray(size - 100)));
      assert.is((await request(`${d.url}/v2/images/${img.id}`, { method: 'DELETE' })).status, 204);
    }
    // nothing left in the container: manifest and segments are gone
    const auth = await request(rgw.authUrl, { headers: { 'X-Auth-User': rgw.user, 'X-Auth-Key': rgw.key } });
    const list = await request(`${auth.headers['x-storage-url']}/imaged-rgw?format=json`, { headers: { 'X-Auth-Token': auth.headers['x-auth-token'] as string } });
    assert.equal(list.status === 204 ? [] : list.json, []);
  } finally {
    await d.stop();
  }
});

test.run();
