/** Glance's timestamp shape: second precision, 'Z' suffix. */
export const isoNow = (d = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
