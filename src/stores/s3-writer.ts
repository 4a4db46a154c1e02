import { PassThrough } from 'node:stream';
import type { Logger } from 'pino';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  PutObjectCommand, UploadPartCommand, type CompletedPart, type S3Client,
} from '@aws-sdk/client-s3';

export interface S3WriterOptions {
  /** Retries failed requests whose body is a buffer; never a streamed one (the SDK cannot replay it). */
  client: S3Client;
  bucket: string;
  key: string;
  expectedSize: number | null;
  largeObjectSize: number;
  chunkSize: number;
  threadPools: number;
  /** Tells the store about a failed request (it may mark itself unavailable). */
  onError: (e: unknown) => void;
  log: Logger;
}

const MAX_PARTS = 10_000; // S3's (and RGW's) limit
const MAX_PART = 5 * 1024 ** 3; // S3's largest part
const GROW_EVERY = 2_500; // unknown size: parts double in size every this many, so 10,000 parts reach 37,500 chunks

interface Part {
  n: number;
  buf: Buffer;
  len: number;
}

/**
 * One image going into S3 the way glance_store lays it out: below s3_store_large_object_size one PutObject,
 * at or above it a multipart upload with parts of s3_store_large_object_chunk_size (larger if 10,000 parts
 * would not hold the image). Known-size small images stream straight into the PutObject. Unknown sizes
 * are buffered until the threshold decides. Bytes are copied on arrival (the caller reuses its buffers),
 * and at most threadPools × chunkSize of them are held at once: write() waits for room.
 */
export class S3Writer {
  private mode: 'stream' | 'buffer' | 'multipart';
  private readonly budget: number; // bytes of part buffers held at most
  private readonly threshold: number; // unknown size: buffered bytes that make it a multipart upload
  private allocated = 0;
  private cur: Part | null = null;
  private held: Part[] = []; // buffer mode: filled parts not sent yet
  private nextPart = 1;
  private tail: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private reported = false; // a write() has rejected with the failure
  private state: 'open' | 'committed' | 'aborted' = 'open';
  private aborting: Promise<void> | null = null;
  private readonly ac = new AbortController();
  private waiters: Array<() => void> = [];
  // multipart
  private uploadId: string | null = null;
  private queue: Part[] = [];
  private running = 0;
  private inflight = new Set<Promise<void>>();
  private done: CompletedPart[] = [];
  private completeSent = false;
  // stream mode
  private body: PassThrough | null = null;
  private put: Promise<void> | null = null;

  constructor(private readonly o: S3WriterOptions) {
    const size = o.expectedSize;
    this.mode = size === null || size === 0 ? 'buffer' : size < o.largeObjectSize ? 'stream' : 'multipart';
    this.budget = Math.max(o.threadPools * o.chunkSize, this.partSize(1));
    // Deciding later than the memory budget would hold more than it; the object is the same either way.
    this.threshold = Math.min(o.largeObjectSize, this.budget);
  }

  /** Starts the PutObject (stream) or the multipart upload (large known size). */
  async start(): Promise<void> {
    if (this.mode === 'stream') this.startStream(this.o.expectedSize!);
    if (this.mode === 'multipart') await this.createUpload();
  }

  write(chunk: Buffer): Promise<void> {
    // One chunk at a time, in call order: bytes land in the order write() was called.
    const p = this.tail.then(() => this.accept(chunk));
    this.tail = p.catch(() => {});
    // Only the first failure rejects; the writes queued behind it resolve with their bytes dropped, and
    // commit() fails. The ingest stops at the first rejection and waits for the rest to resolve.
    return p.catch((e) => {
      if (this.reported) return;
      this.reported = true;
      throw e;
    });
  }

  async commit(): Promise<void> {
    await this.tail;
    this.check();
    try {
      if (this.mode === 'stream') await this.finishStream();
      else if (this.mode === 'buffer') await this.putBuffered();
      else await this.completeUpload();
    } catch (e) {
      this.fail(e);
      throw e;
    }
    this.state = 'committed';
  }

  abort(): Promise<void> {
    if (this.state === 'committed') return Promise.resolve(); // the object now belongs to the image
    this.aborting ??= this.cleanup();
    return this.aborting;
  }

  // --- accepting bytes -----------------------------------------------------------------------

  private async accept(chunk: Buffer): Promise<void> {
    this.check();
    try {
      if (this.mode === 'stream') return await this.streamWrite(chunk);
      let off = 0;
      while (off < chunk.length) {
        this.cur ??= await this.allocate();
        const n = chunk.copy(this.cur.buf, this.cur.len, off);
        this.cur.len += n;
        off += n;
        if (this.cur.len === this.cur.buf.length) this.filled();
        if (this.mode === 'buffer' && this.bufferedBytes() >= this.threshold) await this.toMultipart();
      }
    } catch (e) {
      this.fail(e);
      throw e;
    }
  }

  private check() {
    if (this.failure) throw this.failure;
    if (this.state !== 'open') throw new Error(`upload of ${this.o.key} is already ${this.state}`);
  }

  private partSize(n: number): number {
    const size = this.o.expectedSize;
    if (size !== null && size > 0) return Math.max(this.o.chunkSize, Math.ceil(size / MAX_PARTS));
    return Math.min(MAX_PART, this.o.chunkSize * 2 ** Math.floor((n - 1) / GROW_EVERY));
  }

  /** A buffer for the next part, once the budget has room (always when nothing else is held). */
  private async allocate(): Promise<Part> {
    const n = this.nextPart;
    if (n > MAX_PARTS) throw new Error(`image too large for an S3 multipart upload of ${MAX_PARTS} parts (s3_store_large_object_chunk_size is ${this.o.chunkSize} bytes)`);
    const size = this.partSize(n);
    while (this.mode === 'multipart' && this.allocated > 0 && this.allocated + size > this.budget) {
      await this.waitChange();
      this.check();
    }
    this.nextPart++;
    this.allocated += size;
    return { n, buf: Buffer.allocUnsafe(size), len: 0 };
  }

  private filled() {
    const p = this.cur!;
    this.cur = null;
    if (this.mode === 'buffer') this.held.push(p);
    else this.enqueue(p);
  }

  private bufferedBytes(): number {
    return this.held.reduce((n, p) => n + p.len, 0) + (this.cur?.len ?? 0);
  }

  private waitChange(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private fail(e: unknown) {
    if (!this.failure) {
      this.failure = e instanceof Error ? e : new Error(String(e));
      if (this.state === 'open' && !this.ac.signal.aborted) this.o.onError(e);
    }
    this.wake();
  }

  // --- one PutObject streamed (known size below the threshold) ----------------------------------

  private startStream(size: number) {
    this.body = new PassThrough({ highWaterMark: 4 << 20 });
    this.put = this.o.client
      .send(new PutObjectCommand({ Bucket: this.o.bucket, Key: this.o.key, Body: this.body, ContentLength: size }), { abortSignal: this.ac.signal })
      .then(() => {}, (e) => {
        this.fail(e);
        throw e;
      });
    this.put.catch(() => {}); // observed by commit() or abort()
  }

  private async streamWrite(chunk: Buffer) {
    // A copy: the caller reuses its buffer once write() resolves, while the socket may not have sent it yet.
    if (this.body!.write(Buffer.from(chunk))) return;
    await new Promise<void>((resolve) => {
      this.body!.once('drain', resolve);
      this.waiters.push(resolve); // a failed PUT never drains
    });
    this.check();
  }

  private async finishStream() {
    this.body!.end();
    await this.put;
  }

  // --- one PutObject from memory (unknown size that stayed below the threshold) -----------------

  private async putBuffered() {
    const parts = [...this.held, ...(this.cur ? [this.cur] : [])].map((p) => p.buf.subarray(0, p.len));
    const body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    await this.o.client.send(new PutObjectCommand({ Bucket: this.o.bucket, Key: this.o.key, Body: body, ContentLength: body.length }), { abortSignal: this.ac.signal });
    this.held = [];
    this.cur = null;
  }

  // --- multipart ----------------------------------------------------------------------------

  private async createUpload() {
    const r = await this.o.client.send(new CreateMultipartUploadCommand({ Bucket: this.o.bucket, Key: this.o.key }), { abortSignal: this.ac.signal });
    if (!r.UploadId) throw new Error(`S3 returned no UploadId for ${this.o.bucket}/${this.o.key}`);
    this.uploadId = r.UploadId;
  }

  private async toMultipart() {
    await this.createUpload();
    this.mode = 'multipart';
    for (const p of this.held.splice(0)) this.enqueue(p);
  }

  private enqueue(p: Part) {
    this.queue.push(p);
    this.pump();
  }

  /** Keeps up to threadPools UploadPart requests in flight. */
  private pump() {
    while (this.running < this.o.threadPools && this.queue.length > 0 && !this.failure) {
      const p = this.queue.shift()!;
      this.running++;
      const t = this.uploadPart(p).then(
        () => {
          this.running--;
          this.allocated -= p.buf.length;
          this.inflight.delete(t);
          this.wake();
          this.pump();
        },
        (e) => {
          this.running--;
          this.inflight.delete(t);
          this.fail(e);
        },
      );
      this.inflight.add(t);
    }
  }

  private async uploadPart(p: Part) {
    const r = await this.o.client.send(
      new UploadPartCommand({
        Bucket: this.o.bucket, Key: this.o.key, UploadId: this.uploadId!, PartNumber: p.n,
        Body: p.buf.subarray(0, p.len), ContentLength: p.len,
      }),
      { abortSignal: this.ac.signal },
    );
    this.done.push({ PartNumber: p.n, ETag: r.ETag });
  }

  private async completeUpload() {
    if (this.cur && this.cur.len > 0) this.enqueue(this.cur);
    this.cur = null;
    while (this.running > 0 || this.queue.length > 0) {
      await this.waitChange();
      this.check();
    }
    const parts = [...this.done].sort((a, b) => a.PartNumber! - b.PartNumber!);
    this.completeSent = true;
    await this.o.client.send(
      new CompleteMultipartUploadCommand({ Bucket: this.o.bucket, Key: this.o.key, UploadId: this.uploadId!, MultipartUpload: { Parts: parts } }),
      { abortSignal: this.ac.signal },
    );
  }

  // --- abort -------------------------------------------------------------------------------

  private async cleanup() {
    this.state = 'aborted';
    this.failure ??= new Error(`upload of ${this.o.key} aborted`);
    this.ac.abort(); // in-flight requests stop; parts must settle before the upload can be aborted
    this.body?.destroy();
    this.wake();
    await Promise.allSettled([this.tail, this.put, ...this.inflight]);
    this.held = [];
    this.queue = [];
    this.cur = null;
    const { bucket, key } = this.o;
    try {
      if (this.uploadId) {
        await this.o.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: this.uploadId })).catch((e) => {
          if ((e as Error).name !== 'NoSuchUpload') throw e;
        });
      }
      // A PutObject or Complete may have landed just before the abort: the object must not stay.
      if (this.put || this.completeSent) await this.o.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (e) {
      this.o.log.warn({ bucket, key, err: (e as Error).message }, 'could not clean up an aborted s3 upload');
    }
  }
}
