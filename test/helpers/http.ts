import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json: any;
}

/** A plain node:http request (fetch hides some headers and can't send some malformed things). */
export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string | number>; body?: Buffer | string; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        let json: any;
        try {
          json = JSON.parse(body.toString());
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, body, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export const jsonHeaders = (extra: Record<string, string> = {}) => ({ 'Content-Type': 'application/json', ...extra });
export const PATCH_TYPE = 'application/openstack-images-v2.1-json-patch';

/** Creates an image and returns its JSON. */
export async function createImage(base: string, body: object = {}, headers: Record<string, string> = {}) {
  const r = await request(`${base}/v2/images`, {
    method: 'POST',
    headers: jsonHeaders(headers),
    body: JSON.stringify({ disk_format: 'raw', container_format: 'bare', ...body }),
  });
  if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.body}`);
  return r.json;
}

export async function upload(base: string, id: string, data: Buffer, headers: Record<string, string | number> = {}) {
  return request(`${base}/v2/images/${id}/file`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length, ...headers },
    body: data,
  });
}
