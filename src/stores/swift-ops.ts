// Object and container operations the swift store builds on.
import { unavailable } from '../util/errors.js';
import { SwiftHttpError, type SwiftClient } from './swift-client.js';

const DELETE_PARALLEL = 4;

export const objectPath = (container: string, object: string) => `/${encodeURIComponent(container)}/${encodeURIComponent(object)}`;

export interface Listed {
  name: string;
  bytes: number;
}

/** Every object under `prefix`, in name order; null when the container does not exist. */
export async function listPrefix(client: SwiftClient, container: string, prefix: string): Promise<Listed[] | null> {
  const out: Listed[] = [];
  let marker = '';
  for (;;) {
    const q = `?format=json&prefix=${encodeURIComponent(prefix)}${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`;
    const r = await client.call('GET', `/${encodeURIComponent(container)}${q}`);
    if (r.status === 404) return null;
    if (r.status === 204) return out; // an empty listing
    if (r.status !== 200) throw new SwiftHttpError(r.status, `listing container ${container}: Swift answered HTTP ${r.status}`);
    const page = JSON.parse(r.body.toString('utf8')) as Array<{ name: string; bytes: number }>;
    if (page.length === 0) return out;
    for (const o of page) out.push({ name: o.name, bytes: o.bytes });
    marker = page[page.length - 1].name;
  }
}

/** Deletes the objects; one already gone counts as deleted. */
export async function deleteObjects(client: SwiftClient, container: string, names: string[], query = ''): Promise<void> {
  const queue = [...names];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const r = await client.call('DELETE', objectPath(container, name) + query);
      if (r.status !== 404 && (r.status < 200 || r.status > 299)) {
        throw new SwiftHttpError(r.status, `DELETE of ${container}/${name}: Swift answered HTTP ${r.status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DELETE_PARALLEL, queue.length) }, worker));
}

/** Creates the container when allowed (swift_store_create_container_on_put), else says how to fix it. */
export async function ensureContainer(client: SwiftClient, container: string, create: boolean): Promise<void> {
  if (!create) {
    // 503 with the reason: the client learns what the operator must fix (a plain error would be a bare 500)
    throw unavailable(`The container ${container} does not exist in Swift. Create it, or set swift_store_create_container_on_put = True.`);
  }
  const r = await client.call('PUT', `/${encodeURIComponent(container)}`, {}, Buffer.alloc(0));
  if (r.status !== 201 && r.status !== 202) throw new SwiftHttpError(r.status, `creating container ${container}: Swift answered HTTP ${r.status}`);
}
