import { test } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pino } from 'pino';
import { CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Writer, type S3WriterOptions } from '../../src/stores/s3-writer.js';

// The S3 writer's bookkeeping (order, parts, memory, concurrency, clean-up) against a fake client.

const MiB = 1 << 20;
const tick = () => new Promise((r) => setImmediate(r));

/** Records every request; UploadPart waits until released when `hold` is set. */
function fakeClient(o: { hold?: boolean; failPart?: number } = {}) {
  const calls: Array<{ name: string; input: any }> = [];
  const parts = new Map<number, Buffer>();
  const held: Array<() => void> = [];
  let running = 0;
  let maxRunning = 0;
  let put: Buffer | null = null;
  const send = async (cmd: any, opts: { abortSignal?: AbortSignal } = {}) => {
    const name = cmd.constructor.name as string;
    const input = cmd.input as any;
    calls.push({ name, input });
    if (cmd instanceof CreateMultipartUploadCommand) return { UploadId: 'u1' };
    if (cmd instanceof UploadPartCommand) {
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        if (o.hold) {
          await new Promise<void>((resolve, reject) => {
            held.push(resolve);
            opts.abortSignal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
          });
        }
        if (input.PartNumber === o.failPart) throw Object.assign(new Error('boom'), { $metadata: { httpStatusCode: 500 } });
        parts.set(input.PartNumber, Buffer.from(input.Body));
        return { ETag: `"e${input.PartNumber}"` };
      } finally {
        running--;
      }
    }
    if (cmd instanceof PutObjectCommand) {
      const body = input.Body;
      if (Buffer.isBuffer(body)) put = Buffer.from(body);
      else {
        const chunks: Buffer[] = [];
        for await (const c of body as Readable) chunks.push(c as Buffer);
        put = Buffer.concat(chunks);
      }
      return {};
    }
    return {};
  };
  return {
    client: { send } as unknown as S3Client,
    calls,
    names: () => calls.map((c) => c.name),
    parts,
    release: () => held.splice(0).forEach((f) => f()),
    heldCount: () => held.length,
    maxRunning: () => maxRunning,
    put: () => put,
    object: () => Buffer.concat([...parts.keys()].sort((a, b) => a - b).map((k) => parts.get(k)!)),
  };
}

function writer(f: ReturnType<typeof fakeClient>, o: Partial<S3WriterOptions> = {}) {
  return new S3Writer({
    client: f.client, bucket: 'b', key: 'k', expectedSize: null, largeObjectSize: 6 * MiB, chunkSize: 5 * MiB, threadPools: 2,
    onError: () => {}, log: pino({ level: 'silent' }), ...o,
  });
}

/** Feeds `data` in 1 MiB writes that overlap, as the ingest does (up to 8 in flight). */
async function feed(w: S3Writer, data: Buffer) {
  const pending: Array<Promise<void>> = [];
  for (let off = 0; off < data.length; off += MiB) {
    pending.push(w.write(Buffer.from(data.subarray(off, off + MiB))));
    if (pending.length >= 8) await pending.shift();
  }
  await Promise.all(pending);
}

test('unknown size below large_object_size: one PutObject of the bytes in order', async () => {
  const f = fakeClient();
  const w = writer(f);
  await w.start();
  const data = randomBytes(5 * MiB + 77);
  await feed(w, data);
  await w.commit();
  assert.equal(f.names(), ['PutObjectCommand']);
  assert.ok(f.put()!.equals(data));
});

test('unknown size past large_object_size: multipart, parts in order, completed sorted', async () => {
  const f = fakeClient();
  const w = writer(f);
  await w.start();
  const data = randomBytes(17 * MiB + 5);
  await feed(w, data);
  await w.commit();
  const names = f.names();
  assert.is(names[0], 'CreateMultipartUploadCommand');
  assert.is(names.filter((n) => n === 'UploadPartCommand').length, 4);
  const complete = f.calls.find((c) => c.name === 'CompleteMultipartUploadCommand')!;
  assert.equal(complete.input.MultipartUpload.Parts.map((p: any) => p.PartNumber), [1, 2, 3, 4]);
  assert.ok(f.object().equals(data));
});

test('known size: streamed PutObject below the threshold, multipart from the start at it', async () => {
  const f = fakeClient();
  const small = randomBytes(3 * MiB + 1);
  const w = writer(f, { expectedSize: small.length });
  await w.start();
  await feed(w, small);
  await w.commit();
  assert.equal(f.names(), ['PutObjectCommand']);
  assert.is(f.calls[0].input.ContentLength, small.length);
  assert.ok(f.put()!.equals(small));

  const g = fakeClient();
  const big = randomBytes(6 * MiB);
  const m = writer(g, { expectedSize: big.length });
  await m.start();
  assert.equal(g.names(), ['CreateMultipartUploadCommand']);
  await feed(m, big);
  await m.commit();
  assert.ok(g.object().equals(big));
  assert.equal([...g.parts.values()].map((p) => p.length), [5 * MiB, MiB]);
});

test('parts in flight stay within thread_pools and memory within thread_pools × chunk: write() waits', async () => {
  const f = fakeClient({ hold: true });
  const w = writer(f, { expectedSize: 40 * MiB, threadPools: 2 });
  await w.start();
  const data = randomBytes(40 * MiB);
  const writes: Array<Promise<void>> = [];
  let resolved = 0;
  for (let off = 0; off < 12 * MiB; off += MiB) writes.push(w.write(data.subarray(off, off + MiB)).then(() => void resolved++));
  for (let i = 0; i < 20; i++) await tick();
  // two 5 MiB parts are uploading (the whole budget), so the 11th MiB has nowhere to go
  assert.is(f.heldCount(), 2);
  assert.is(resolved, 10);
  f.release();
  await Promise.all(writes);
  const rest = (async () => {
    for (let off = 12 * MiB; off < data.length; off += MiB) await w.write(data.subarray(off, off + MiB));
  })();
  while (!(await Promise.race([rest.then(() => true), tick().then(() => false)]))) f.release();
  const done = w.commit();
  while (!(await Promise.race([done.then(() => true), tick().then(() => false)]))) f.release();
  assert.is(f.maxRunning(), 2);
  assert.ok(f.object().equals(data));
});

test('a part larger than the chunk when 10,000 parts would not hold the image', async () => {
  const f = fakeClient();
  const size = 10_000 * 5 * MiB + 1;
  const w = writer(f, { expectedSize: size });
  await w.start();
  await w.write(randomBytes(5 * MiB + 1));
  for (let i = 0; i < 5; i++) await tick();
  assert.is(f.calls.find((c) => c.name === 'UploadPartCommand')?.input.ContentLength, 5 * MiB + 1);
  await w.abort();
  assert.ok(f.names().includes('AbortMultipartUploadCommand'));
});

test('a failed part fails later writes; abort waits for parts in flight, then aborts the upload', async () => {
  const f = fakeClient({ failPart: 1 });
  const errors: unknown[] = [];
  const w = writer(f, { expectedSize: 30 * MiB, onError: (e) => errors.push(e) });
  await w.start();
  let failed: Error | null = null;
  try {
    for (let off = 0; off < 30 * MiB; off += MiB) await w.write(randomBytes(MiB));
  } catch (e) {
    failed = e as Error;
  }
  assert.is(failed?.message, 'boom');
  assert.is(errors.length, 1);
  // overlapping writes after it: the first rejects, the rest resolve (dropped); commit() fails
  const more = await Promise.allSettled(Array.from({ length: 6 }, () => w.write(randomBytes(MiB))));
  assert.equal(more.map((r) => r.status), Array(6).fill('fulfilled'));
  await w.commit().then(() => assert.unreachable('commit after a failure'), (e) => assert.is(e.message, 'boom'));
  await w.abort();
  await w.abort(); // twice is fine
  const names = f.names();
  assert.is(names.filter((n) => n === 'AbortMultipartUploadCommand').length, 1);
  assert.is(names.at(-1), 'AbortMultipartUploadCommand');
  assert.not.ok(names.includes('CompleteMultipartUploadCommand'));
});

test('abort of a streamed PutObject cancels it and deletes whatever may have landed; abort after commit does nothing', async () => {
  const f = fakeClient();
  const w = writer(f, { expectedSize: 4 * MiB });
  await w.start();
  await w.write(randomBytes(MiB));
  await w.abort();
  assert.ok(f.names().includes('DeleteObjectCommand'));
  const sent = f.names().length;
  await w.abort(); // a second abort resolves (a rejection fails the test) and sends nothing more
  assert.is(f.names().length, sent);

  const g = fakeClient();
  const c = writer(g, { expectedSize: MiB });
  await c.start();
  await c.write(randomBytes(MiB));
  await c.commit();
  await c.abort();
  assert.equal(g.names(), ['PutObjectCommand']);
});

test('unknown sizes grow their parts so 10,000 of them hold far more than 10,000 chunks', () => {
  const w = writer(fakeClient()) as any;
  assert.is(w.partSize(1), 5 * MiB);
  assert.is(w.partSize(2500), 5 * MiB);
  assert.is(w.partSize(2501), 10 * MiB);
  assert.is(w.partSize(10_000), 40 * MiB);
});

test.run();
