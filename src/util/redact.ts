/** Location URLs may carry credentials (glance's s3:// and swift+http:// forms): never log them. */
export const redactUrl = (url: string) => url.replace(/\/\/[^/@]*@/, '//***@');
