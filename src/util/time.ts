/** Catalog timestamps keep milliseconds (so sorting by creation is stable); the API shows seconds, as Glance. */
export const isoNow = (d = new Date()) => d.toISOString();
export const apiTime = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z');
