// Upload of one image to Swift in glance_store's layout: one PUT when the size is known and at most
// swift_store_large_object_size, else segments <id>-00001, <id>-00002… of swift_store_large_object_chunk_size
// in the same container and a zero-byte DLO manifest <id> (X-Object-Manifest: <container>/<id>-) at commit.
// Bytes are streamed: one PUT at a time is open and write() resolves once its bytes are on the socket.
import type { Logger } from 'pino';
import type { ImageLocation } from '../images/record.js';
import { StorageFullError, type StoreWriter } from './types.js';
import { SwiftHttpError, type SwiftClient, type SwiftPut } from './swift-client.js';
import { deleteObjects, listPrefix, objectPath } from './swift-ops.js';

const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const MAX_SEGMENTS = 99_999; // <id>-%05d names list in order only up to here
const LISTING_WAIT_MS = 15_000; // container listings may trail the object PUTs a little

export interface SwiftWriterOptions {
  client: SwiftClient;
  container: string;
  object: string;
  expectedSize: number | null;
  largeObjectSize: number;
  chunkSize: number;
  location: ImageLocation;
  /** an operation failed: the store decides whether Swift is unreachable */
  onFailure(e: unknown): void;
  log: Logger;
}

export const segmentName = (object: string, n: number) => `${object}-${String(n).padStart(5, '0')}`;

export class SwiftWriter implements StoreWriter {
  private tail: Promise<void> = Promise.resolve();
  private cur: SwiftPut | null = null;
  private curBytes = 0;
  private curLimit = 0;
  /** segments started, in order, and the sizes of those completed */
  private segments: string[] = [];
  private sizes: number[] = [];
  private total = 0;
  private failure: Error | null = null;
  private aborted = false;
  /** the object itself (single PUT or manifest) may exist */
  private objectTouched = false;
  private readonly segmented: boolean;

  constructor(private readonly o: SwiftWriterOptions) {
    // glance segments unknown sizes too: whether they pass the limit is known only at the end
    this.segmented = o.expectedSize === null || o.expectedSize > o.largeObjectSize;
  }

  write(chunk: Buffer): Promise<void> {
    const p = this.tail.then(() => this.append(chunk));
    this.tail = p.catch(() => {});
    return p;
  }

  private async append(chunk: Buffer): Promise<void> {
    // The write that failed rejected; later ones drop their bytes quietly and commit() throws. (ingest settles
    // only once after its first failure: rejecting every queued write too would leave the upload hanging.)
    if (this.failure) return;
    try {
      let off = 0;
      while (off < chunk.length) {
        if (this.aborted) throw new Error('upload aborted');
        if (!this.cur) await this.open();
        const n = Math.min(chunk.length - off, this.curLimit - this.curBytes);
        if (n <= 0) throw new Error(`more bytes than the ${this.o.expectedSize} announced`);
        await this.cur!.write(chunk.subarray(off, off + n));
        off += n;
        this.curBytes += n;
        this.total += n;
        if (this.segmented && this.curBytes === this.curLimit) await this.finishSegment();
      }
    } catch (e) {
      this.fail(e as Error);
      throw e;
    }
  }

  private fail(e: Error) {
    this.failure ??= e;
    this.cur?.destroy();
    this.cur = null;
    if (!this.aborted) this.o.onFailure(e);
  }

  /** Starts the PUT of the object (single) or of the next segment. */
  private async open(): Promise<void> {
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
    let name: string;
    if (!this.segmented) {
      name = this.o.object;
      this.curLimit = this.o.expectedSize!;
      headers['Content-Length'] = String(this.curLimit);
      this.objectTouched = true;
    } else {
      if (this.segments.length >= MAX_SEGMENTS) {
        throw new Error(`image needs more than ${MAX_SEGMENTS} segments of ${this.o.chunkSize} bytes: raise swift_store_large_object_chunk_size`);
      }
      name = segmentName(this.o.object, this.segments.length + 1);
      const left = this.o.expectedSize === null ? null : this.o.expectedSize - this.total;
      this.curLimit = left === null ? this.o.chunkSize : Math.min(this.o.chunkSize, left);
      if (left === null) headers['Transfer-Encoding'] = 'chunked';
      else headers['Content-Length'] = String(this.curLimit);
      this.segments.push(name);
    }
    this.curBytes = 0;
    const put = await this.o.client.put(objectPath(this.o.container, name), headers).catch((e) => {
      throw e instanceof SwiftHttpError ? putError(e.status, e.message) : e;
    });
    if (this.aborted) {
      put.destroy();
      throw new Error('upload aborted');
    }
    this.cur = put;
  }

  private async finishSegment(): Promise<void> {
    const put = this.cur!;
    this.cur = null;
    const r = await put.end();
    if (r.status !== 201) throw putError(r.status, `PUT of segment ${this.segments.at(-1)}: Swift answered HTTP ${r.status} ${r.body.toString().slice(0, 200)}`);
    this.sizes.push(this.curBytes);
  }

  async commit(): Promise<ImageLocation> {
    await this.tail;
    if (this.failure) throw this.failure;
    if (this.aborted) throw new Error('upload aborted');
    const { client, container, object } = this.o;
    try {
      if (!this.segmented) {
        this.objectTouched = true;
        const r = this.cur
          ? await this.cur.end()
          : await client.call('PUT', objectPath(container, object), { 'Content-Length': '0', 'Content-Type': 'application/octet-stream' }, Buffer.alloc(0));
        this.cur = null;
        if (r.status !== 201) throw putError(r.status, `PUT of ${container}/${object}: Swift answered HTTP ${r.status} ${r.body.toString().slice(0, 200)}`);
      } else {
        if (this.cur) await this.finishSegment();
        await this.checkListing();
        this.objectTouched = true;
        const manifest = `${encodeURIComponent(container)}/${encodeURIComponent(object)}-`;
        const headers = { 'X-Object-Manifest': manifest, ETag: EMPTY_MD5, 'Content-Length': '0', 'Content-Type': 'application/octet-stream' };
        const r = await client.call('PUT', objectPath(container, object), headers, Buffer.alloc(0));
        if (r.status !== 201) throw new SwiftHttpError(r.status, `PUT of the manifest ${container}/${object}: Swift answered HTTP ${r.status}`);
      }
    } catch (e) {
      this.fail(e as Error);
      throw e;
    }
    return this.o.location;
  }

  /**
   * A DLO is whatever the container listing says under <id>-, so the manifest is written only once the listing
   * shows exactly our segments with their sizes (stale segments of an earlier attempt are removed).
   */
  private async checkListing(): Promise<void> {
    const { client, container, object } = this.o;
    const until = Date.now() + LISTING_WAIT_MS;
    for (;;) {
      const listed = (await listPrefix(client, container, `${object}-`)) ?? [];
      const extra = listed.filter((s) => !this.segments.includes(s.name)).map((s) => s.name);
      if (extra.length) {
        this.o.log.warn({ container, object, extra }, 'removing stale swift segments before writing the manifest');
        await deleteObjects(client, container, extra);
        continue;
      }
      const ok = listed.length === this.sizes.length && listed.every((s, i) => s.name === this.segments[i] && s.bytes === this.sizes[i]);
      if (ok) return;
      if (Date.now() > until) {
        throw new Error(`the listing of container ${container} shows ${listed.length} of the ${this.sizes.length} segments of ${object} (or other sizes) after ${LISTING_WAIT_MS / 1000} s; not writing a manifest that would serve a truncated image`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async abort(): Promise<void> {
    this.aborted = true;
    const cur = this.cur;
    this.cur = null;
    if (cur && !this.segmented && this.curBytes === this.curLimit) {
      // every byte was sent: let Swift finish the PUT so the delete below cannot precede it
      await cur.end(30_000).catch(() => cur.destroy());
    } else {
      cur?.destroy();
    }
    await this.tail;
    const { client, container, object } = this.o;
    try {
      const listed = ((await listPrefix(client, container, `${object}-`)) ?? []).map((s) => s.name);
      await deleteObjects(client, container, [...new Set([...this.segments, ...listed])]);
      if (this.objectTouched) await deleteObjects(client, container, [object]);
    } catch (e) {
      this.o.log.warn({ container, object, err: (e as Error).message }, 'could not remove the partial swift upload');
    }
    this.segments = [];
  }
}

/** Swift's "no room" answers (507 from full devices, 413 from quotas or size limits) become the store's StorageFullError. */
function putError(status: number, message: string): Error {
  return status === 507 || status === 413 ? new StorageFullError(`Swift has no room for the image: ${message}`) : new SwiftHttpError(status, message);
}
