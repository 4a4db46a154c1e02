import net from 'node:net';
import type { Logger } from 'pino';
import {
  AbortMultipartUploadCommand, CreateBucketCommand, DeleteObjectCommand, HeadBucketCommand, HeadObjectCommand,
  ListMultipartUploadsCommand, S3Client, type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import type { ImageLocation } from '../images/record.js';
import type { S3StoreConfig } from '../config/index.js';
import { unavailable } from '../util/errors.js';
import { isUuid } from '../util/uuid.js';
import { formatS3Url, locationHost, parseS3Url, sameHost, type S3Location } from './s3-location.js';
import { windowedRanges } from './s3-read.js';
import { S3Writer } from './s3-writer.js';
import { DataNotFoundError, type Store, type StoreInfo, type StoreReader, type StoreWriter } from './types.js';

export interface S3StoreOptions extends S3StoreConfig {
  id: string;
  description: string;
  weight: number;
  isDefault: boolean;
  log: Logger;
}

const RETRY_MS = 5_000;
const CONNECT_TIMEOUT_MS = 5_000;
const IDLE_TIMEOUT_MS = 120_000; // a request whose socket moves no byte for this long fails
const STALE_UPLOAD_MS = 24 * 3600_000;
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

// The SDK warns once per process that its releases after January 2027 need Node 22; the locked one runs on 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The bucket is not there and this store may not create it. */
class BucketMissingError extends Error {}

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * S3 (or an S3-compatible server such as Ceph RGW) in glance_store's layout: one object per image in
 * s3_store_bucket, named by the image id, location s3://<access>:<secret>@<host>/<bucket>/<id>.
 */
export class S3Store implements Store {
  readonly info: StoreInfo;
  private readonly client: S3Client;
  private readonly locHost: string;
  private readonly configError: string | null;
  private lastError: string | null;
  private bucketKnown = false; // seen or created; a missing bucket is looked at (and maybe created) per upload
  private bucketCheck: Promise<void> | null = null;
  private swept = false;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly o: S3StoreOptions) {
    this.info = {
      id: o.id, type: 's3', description: o.description, weight: o.weight, isDefault: o.isDefault,
      properties: {
        // glance's stores detail, plus where the data goes
        s3_store_large_object_size: o.largeObjectSize,
        s3_store_large_object_chunk_size: o.largeObjectChunkSize,
        s3_store_thread_pools: o.threadPools,
        bucket: o.bucket,
        host: o.host,
      },
    };
    this.locHost = locationHost(o.host);
    this.configError = checkAddressing(o);
    this.lastError = this.configError ?? `connecting to S3 endpoint ${o.host} (bucket ${o.bucket})`;
    this.client = makeClient(o);
  }

  start(): void {
    if (!this.configError) void this.probe();
  }

  /** HeadBucket until the endpoint answers with our keys; then the store is usable. */
  private async probe(): Promise<void> {
    this.retry = null;
    if (this.stopped) return;
    try {
      await this.checkBucket();
      if (this.lastError !== null) this.o.log.info({ store: this.o.id, host: this.o.host, bucket: this.o.bucket }, 's3 store connected');
      this.lastError = null;
      if (!this.swept) {
        this.swept = true;
        void this.cleanupIncomplete();
      }
    } catch (e) {
      this.lastError = this.reason(e);
      this.o.log.warn({ store: this.o.id, err: this.lastError }, 's3 store unavailable; retrying');
      this.scheduleProbe();
    }
  }

  private scheduleProbe() {
    if (!this.stopped && !this.retry) this.retry = setTimeout(() => void this.probe(), RETRY_MS).unref();
  }

  /** Why the store cannot be used, naming the endpoint and bucket (never the keys). */
  private reason(e: unknown): string {
    if (e instanceof BucketMissingError) return e.message;
    return `S3 endpoint ${this.o.host}, bucket ${this.o.bucket}: ${describe(e)}`;
  }

  /** A request failed: if the endpoint went away or refuses our keys, stop taking uploads until a probe succeeds. */
  private noteFailure(e: unknown) {
    if ((e as SdkError).name === 'NoSuchBucket') this.bucketKnown = false; // removed behind our back
    if ((lostContact(e) || e instanceof BucketMissingError) && this.lastError === null) {
      this.lastError = this.reason(e);
      this.o.log.warn({ store: this.o.id, err: this.lastError }, 's3 store unavailable; retrying');
      this.scheduleProbe();
    }
  }

  unavailableReason(): string | null {
    return this.lastError;
  }

  async freeBytes(): Promise<number | null> {
    return null;
  }

  /** Resolves when the bucket exists. A missing one is not an outage when it is created on the first upload. */
  private async checkBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.o.bucket }));
      this.bucketKnown = true;
    } catch (e) {
      if (!isMissing(e)) throw e;
      if (!this.o.createBucketOnPut) {
        throw new BucketMissingError(`bucket ${this.o.bucket} does not exist at S3 endpoint ${this.o.host}; create it or set s3_store_create_bucket_on_put = true`);
      }
    }
  }

  private ensureBucket(): Promise<void> {
    if (this.bucketKnown) return Promise.resolve();
    this.bucketCheck ??= this.checkBucket()
      .then(() => (this.bucketKnown ? undefined : this.createBucket()))
      .finally(() => (this.bucketCheck = null));
    return this.bucketCheck;
  }

  private async createBucket(): Promise<void> {
    const region = configuredRegion(this.o);
    // As glance: a LocationConstraint only for a region it knows (us-east-1 is the one S3 refuses to be named).
    const where = region && region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } } : {};
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.o.bucket, ...where }));
      this.o.log.info({ store: this.o.id, bucket: this.o.bucket }, 'created s3 bucket');
    } catch (e) {
      if ((e as SdkError).name !== 'BucketAlreadyOwnedByYou') throw e;
    }
    this.bucketKnown = true;
  }

  owns(url: string): boolean {
    const l = parseS3Url(url);
    return l !== null && sameHost(l.host, this.locHost) && l.bucket === this.o.bucket;
  }

  async createWriter(imageId: string, expectedSize: number | null): Promise<StoreWriter> {
    const why = this.unavailableReason();
    if (why) throw unavailable(`Store ${this.o.id} is not available: ${why}`);
    const w = new S3Writer({
      client: this.client, bucket: this.o.bucket, key: imageId, expectedSize,
      largeObjectSize: this.o.largeObjectSize, chunkSize: this.o.largeObjectChunkSize, threadPools: this.o.threadPools,
      onError: (e) => this.noteFailure(e), log: this.o.log,
    });
    try {
      await this.ensureBucket();
      await w.start();
    } catch (e) {
      await w.abort();
      this.noteFailure(e);
      if (e instanceof BucketMissingError) throw unavailable(`Store ${this.o.id} is not available: ${e.message}`);
      this.rethrow(e);
    }
    const url = formatS3Url(this.o.host, this.o.accessKey, this.o.secretKey, this.o.bucket, imageId);
    return {
      write: (chunk) => w.write(chunk).catch((e) => this.rethrow(e)),
      commit: async () => {
        await w.commit().catch((e) => this.rethrow(e));
        return { url, store: this.o.id, metadata: {} };
      },
      abort: () => w.abort(),
    };
  }

  /** Losing the endpoint mid-upload is an outage (503 naming it), not an internal error. */
  private rethrow(e: unknown): never {
    if (lostContact(e)) throw unavailable(`Store ${this.o.id} is not available: ${this.reason(e)}`);
    throw e;
  }

  /** The object a location names; only locations on this store's endpoint are read or removed. */
  private resolve(location: ImageLocation): S3Location {
    const l = parseS3Url(location.url);
    if (!l) throw new DataNotFoundError('not an s3 location');
    if (!sameHost(l.host, this.locHost)) throw new DataNotFoundError(`s3 object ${l.bucket}/${l.key} is on endpoint ${l.host}, not on ${this.locHost}`);
    return l;
  }

  async open(location: ImageLocation): Promise<StoreReader> {
    const l = this.resolve(location);
    let size: number;
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: l.bucket, Key: l.key }));
      size = h.ContentLength ?? 0;
    } catch (e) {
      if (isMissing(e)) throw new DataNotFoundError(`s3 object ${l.bucket}/${l.key} not found at ${this.o.host}`);
      this.noteFailure(e);
      throw e;
    }
    const src = { client: this.client, bucket: l.bucket, key: l.key, onError: (e: unknown) => this.noteFailure(e) };
    return {
      size,
      stream: (start, end) => windowedRanges(src, start, Math.min(end, size - 1) + 1),
      close: async () => {},
    };
  }

  async delete(location: ImageLocation): Promise<void> {
    const l = this.resolve(location);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: l.bucket, Key: l.key }));
    } catch (e) {
      if (isMissing(e)) return; // already gone
      this.noteFailure(e);
      throw e;
    }
  }

  /**
   * Multipart uploads cut off by a crash keep their parts (and the space) until aborted. Other nodes may be
   * uploading into the same bucket, so only uploads of image ids started over a day ago are aborted.
   */
  async cleanupIncomplete(): Promise<number> {
    let n = 0;
    try {
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      for (;;) {
        const r = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.o.bucket, KeyMarker, UploadIdMarker }));
        for (const u of r.Uploads ?? []) {
          if (!u.Key || !u.UploadId || !isUuid(u.Key) || !u.Initiated || Date.now() - u.Initiated.getTime() < STALE_UPLOAD_MS) continue;
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.o.bucket, Key: u.Key, UploadId: u.UploadId }));
          n++;
        }
        if (!r.IsTruncated) break;
        KeyMarker = r.NextKeyMarker;
        UploadIdMarker = r.NextUploadIdMarker;
      }
    } catch (e) {
      if (!isMissing(e)) this.o.log.warn({ store: this.o.id, err: describe(e) }, 'could not list stale s3 multipart uploads');
    }
    if (n > 0) this.o.log.info({ store: this.o.id, aborted: n }, 'aborted stale s3 multipart uploads');
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.client.destroy();
  }
}

function makeClient(o: S3StoreOptions): S3Client {
  const logger = sdkLogger(o);
  return new S3Client({
    endpoint: o.host,
    region: configuredRegion(o) || 'us-east-1',
    forcePathStyle: o.urlFormat === 'path' || (o.urlFormat === 'auto' && isLocalOrIp(o.host)),
    credentials: { accessKeyId: o.accessKey, secretAccessKey: o.secretKey },
    maxAttempts: 3,
    logger,
    // S3 servers older than the SDK's default CRC32 checksums (RGW before Reef) reject its aws-chunked bodies.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: IDLE_TIMEOUT_MS, logger },
  });
}

/** s3_store_region_name, else the region an AWS endpoint name carries (as glance), else ''. */
function configuredRegion(o: S3StoreOptions): string {
  if (o.region) return o.region;
  const m = /^s3[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(hostname(o.host));
  return m && m[1] !== 'external-1' ? m[1] : '';
}

function hostname(endpoint: string): string {
  try {
    return new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

/** 'auto' addressing is path-style for IPs and localhost, which cannot carry a bucket subdomain. */
function isLocalOrIp(endpoint: string): boolean {
  const h = hostname(endpoint);
  return net.isIP(h) !== 0 || h === 'localhost';
}

function checkAddressing(o: S3StoreOptions): string | null {
  if (!hostname(o.host)) return `s3_store_host ${o.host} is not a valid URL`;
  const dnsSafe = /^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/.test(o.bucket) && o.bucket.length >= 3 && o.bucket.length <= 63;
  if (o.urlFormat === 'virtual' && !dnsSafe) return `bucket ${o.bucket} is not a DNS name, so it cannot be addressed virtual-host style (s3_store_bucket_url_format = virtual)`;
  return null;
}

/** The object or bucket is not there. */
function isMissing(e: unknown): boolean {
  const err = e as SdkError;
  return err.$metadata?.httpStatusCode === 404 || err.name === 'NoSuchKey' || err.name === 'NoSuchBucket' || err.name === 'NotFound';
}

/** The endpoint is unreachable or refuses our keys, as opposed to a problem with one request. */
function lostContact(e: unknown): boolean {
  const err = e as SdkError;
  return err.$metadata?.httpStatusCode === 403 || err.name === 'TimeoutError' || NET_CODES.has(err.code ?? '');
}

/** An SDK error in words; HEAD answers carry no error body, so the status has to speak for them. */
function describe(e: unknown): string {
  const err = e as SdkError;
  const status = err.$metadata?.httpStatusCode;
  if (status === undefined) return `unreachable: ${err.message ?? String(e)}`;
  const name = err.name && !/^Unknown/.test(err.name) ? ` ${err.name}` : '';
  const msg = err.message && !/^Unknown/.test(err.message) && err.message !== err.name ? `: ${err.message}` : '';
  if (status === 403) return `access denied (HTTP 403${name})${msg}; check s3_store_access_key and s3_store_secret_key`;
  return `HTTP ${status}${name}${msg}`;
}

/**
 * The SDK's own messages into our log. Its per-command records (which carry whole request bodies) stay out:
 * failed commands are reported where they are handled. An aborted streamed PutObject is no news.
 */
function sdkLogger(o: S3StoreOptions) {
  const log = o.log.child({ store: o.id });
  const say = (level: 'warn' | 'error') => (...a: unknown[]) => {
    if (!a.every((x) => typeof x === 'string')) return;
    const m = a.join(' ');
    if (/non-retryable streaming request/.test(m)) log.debug(m);
    else log[level](m);
  };
  return { debug: () => {}, info: () => {}, warn: say('warn'), error: say('error') };
}
