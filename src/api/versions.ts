// GET / and /versions: Glance's version document (300 Multiple Choices).

const SINGLE = ['2.16', '2.15', '2.14', '2.9', '2.7', '2.6', '2.5', '2.4', '2.3', '2.2', '2.1', '2.0'];
const MULTI_EXTRA = ['2.13', '2.12', '2.11', '2.10', '2.8'];

export function versionsDocument(baseUrl: string, multiStore: boolean) {
  const ids = multiStore ? [...SINGLE, ...MULTI_EXTRA] : SINGLE;
  const sorted = ids.sort((a, b) => Number(b.split('.')[1]) - Number(a.split('.')[1]));
  return {
    versions: sorted.map((v, i) => ({
      id: `v${v}`,
      status: i === 0 ? 'CURRENT' : 'SUPPORTED',
      links: [{ rel: 'self', href: `${baseUrl}/v2/` }],
    })),
  };
}
