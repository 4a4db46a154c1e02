// The S3 side (Ceph RGW) of the throwaway cluster test/run starts (test/env/ceph.sh with IMAGED_CEPH_RGW=1).
import { cephDir, readEnvFile } from '../helpers/envfile.js';
import { randomBytes } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import type { Config, S3StoreConfig, StoreConfig } from '../../src/config/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3Env {
  dir: string;
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

/** Reads DIR/env; throws (never skips) when the cluster or its RGW is not there. */
export function s3Env(): S3Env {
  const dir = cephDir();
  const file = `${dir}/env`;
  const env = readEnvFile(dir, 'IMAGED_CEPH_RGW=1 test/env/ceph.sh start');
  if (!env.S3_ENDPOINT || !env.S3_ACCESS_KEY || !env.S3_SECRET_KEY) {
    throw new Error(`the Ceph test cluster at ${dir} has no RGW (no S3_ENDPOINT in ${file}): start it with IMAGED_CEPH_RGW=1 test/env/ceph.sh start ${dir}`);
  }
  return { dir, endpoint: env.S3_ENDPOINT, region: env.S3_REGION || 'default', accessKey: env.S3_ACCESS_KEY, secretKey: env.S3_SECRET_KEY };
}

/** An SDK client of our own, to look at what the store wrote. */
export function s3Client(e: S3Env): S3Client {
  return new S3Client({
    endpoint: e.endpoint, region: e.region, forcePathStyle: true,
    credentials: { accessKeyId: e.accessKey, secretAccessKey: e.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A bucket name no earlier run used. */
export const freshBucket = (tag: string) => `imaged-${tag}-${randomBytes(4).toString('hex')}`;

/** Makes the daemon's default store an s3 store (id `objects`) on the test RGW, next to a file store `local`. */
export function withS3(c: Config, e: S3Env, s3: Partial<S3StoreConfig> & { bucket: string }) {
  const store: StoreConfig = {
    ...c.stores[0], id: 'objects', type: 's3', description: 'Ceph RGW', weight: 0, isDefault: true, datadir: undefined, options: {},
    s3: {
      host: e.endpoint, accessKey: e.accessKey, secretKey: e.secretKey, createBucketOnPut: true, urlFormat: 'auto',
      largeObjectSize: 100 << 20, largeObjectChunkSize: 10 << 20, threadPools: 10, region: e.region, ...s3,
    },
  };
  c.stores = [store, { ...c.stores[0], id: 'local', isDefault: false }];
  c.defaultStore = 'objects';
  c.multiStore = true;
}
