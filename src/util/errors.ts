// HTTP errors carry Glance's status codes and a message that names the problem.
export class HttpError extends Error {
  constructor(
    public readonly status: number,
    message: string,
    public readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (m: string) => new HttpError(400, m);
export const forbidden = (m: string) => new HttpError(403, m);
export const notFound = (m: string) => new HttpError(404, m);
export const conflict = (m: string) => new HttpError(409, m);
export const tooLarge = (m: string) => new HttpError(413, m);
export const unsupportedMedia = (m: string) => new HttpError(415, m);
export const unavailable = (m: string) => new HttpError(503, m);

const TITLES: Record<number, string> = {
  300: 'Multiple Choices', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  409: 'Conflict', 410: 'Gone', 411: 'Length Required', 413: 'Request Entity Too Large',
  415: 'Unsupported Media Type', 416: 'Requested Range Not Satisfiable', 500: 'Internal Server Error',
  503: 'Service Unavailable',
};
export const statusTitle = (s: number) => TITLES[s] ?? 'Error';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;' })[ch]!);

/** Renders an error body the way webob does for Glance: JSON when the client asks for it, else HTML. */
export function renderError(status: number, message: string, accept: string | undefined): { type: string; body: string } {
  const title = statusTitle(status);
  if (accept && /application\/json/i.test(accept)) {
    return { type: 'application/json', body: JSON.stringify({ code: status, title, message }) };
  }
  const body =
    `<html>\n <head>\n  <title>${status} ${title}</title>\n </head>\n <body>\n  <h1>${status} ${title}</h1>\n  ` +
    `${escapeHtml(message)}<br /><br />\n\n\n\n </body>\n</html>`;
  return { type: 'text/html; charset=UTF-8', body };
}
