import { Hono } from 'hono';
import { pipeline } from 'node:stream/promises';
import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Logger } from 'pino';
import type { ImageService } from '../images/service.js';
import type { StoreReader } from '../stores/types.js';
import { HttpError } from '../util/errors.js';
import { parseRange } from '../util/range.js';
import { SendfileUnsupportedError, sendFileResponse, sendfileAvailable } from '../native/sendfile.js';
import type { Env } from './env.js';

export interface DataApiOptions {
  sendfile: boolean;
  log: Logger;
}

/** Image bytes: PUT streams into a store, GET serves them (sendfile(2) from files, a stream otherwise). */
export function dataApi(svc: ImageService, o: DataApiOptions) {
  const app = new Hono<Env>();
  const useSendfile = o.sendfile && sendfileAvailable();

  app.put('/:id/file', async (c) => {
    const type = (c.req.header('content-type') ?? 'application/octet-stream').split(';')[0].trim().toLowerCase();
    if (type !== 'application/octet-stream') {
      throw new HttpError(415, `Unsupported Content-Type ${JSON.stringify(type)}: image data must be application/octet-stream`);
    }
    try {
      await svc.upload(c.get('ctx'), c.req.param('id'), c.env.incoming, c.req.header('x-image-meta-store'));
    } catch (e) {
      // The rest of a refused body is not worth reading: close the connection after the answer.
      if (!c.env.incoming.complete) c.header('Connection', 'close');
      throw e;
    }
    return c.body(null, 204, { 'Content-Type': 'text/html; charset=UTF-8' });
  });

  app.get('/:id/file', async (c) => {
    // Hono routes HEAD to GET handlers; Glance answers 405 for HEAD on /file.
    if (c.req.method === 'HEAD') throw new HttpError(405, 'The method HEAD is not allowed for this resource.', { Allow: 'GET, PUT' });
    const opened = await svc.openData(c.get('ctx'), c.req.param('id'));
    if (!opened) return c.body(null, 204);
    const { img, reader } = opened;
    let range;
    try {
      range = parseRange(c.req.header('range'), c.req.header('content-range'), reader.size);
    } catch (e) {
      await reader.close();
      throw e;
    }
    const start = range ? range.start : 0;
    const length = range ? range.end - range.start + 1 : reader.size;
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Content-Length': length,
      'x-openstack-request-id': c.get('ctx').requestId,
    };
    if (img.checksum) headers['Content-MD5'] = img.checksum;
    if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${reader.size}`;
    await send(c.env.outgoing, reader, start, length, range ? 206 : 200, headers, useSendfile, o.log, img.id);
    return RESPONSE_ALREADY_SENT;
  });

  app.all('/:id/file', () => {
    throw new HttpError(405, 'The method is not allowed for this resource.', { Allow: 'GET, PUT' });
  });

  return app;
}

async function send(
  res: ServerResponse, reader: StoreReader, start: number, length: number, status: number,
  headers: Record<string, string | number>, useSendfile: boolean, log: Logger, id: string,
) {
  try {
    if (useSendfile && reader.fd !== undefined) {
      try {
        await sendFileResponse(res, reader.fd, start, length, { status, headers });
        return;
      } catch (e) {
        if (!(e instanceof SendfileUnsupportedError)) throw e;
      }
    }
    res.writeHead(status, headers);
    if (length > 0) await pipeline(reader.stream(start, start + length - 1), res);
    else res.end();
  } catch (e) {
    // Usually the client went away; the socket is already destroyed so it sees a failed transfer.
    log.debug({ err: e, image: id }, 'download ended early');
    if (!res.destroyed) res.destroy();
  } finally {
    await reader.close();
  }
}
