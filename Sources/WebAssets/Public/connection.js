// Where the page connects, from its own URL. The connection itself (one WebSocket that comes
// back by itself, resuming from a version) is `Connection` in patchsync.js, the client module
// the page shares with Node programs (clients/js/patchsync.js).

const DOCUMENT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether `name` is a document name the server accepts. */
export const isDocumentName = (name) => DOCUMENT_NAME.test(name);

/**
 * Which list the page shows and the credential it presents, from the page's own URL:
 * `?doc=<name>` picks a document (default: the server's `default`), and a `token`
 * in the query or in the fragment (`#token=...`, never sent in HTTP requests) is
 * passed on to the WebSocket. `&display` asks for the read-only wall-screen view.
 * @returns {{ document: string | null, token: string | null, problem: string | null, display: boolean }}
 */
export function pageOptions(pageHref) {
  const page = new URL(pageHref);
  const fragment = new URLSearchParams(page.hash.slice(1));
  const document = page.searchParams.get('doc');
  const token = page.searchParams.get('token') ?? fragment.get('token');
  const problem = document !== null && !isDocumentName(document)
    ? `"${document}" is not a list name: use up to 64 letters, digits, "-" and "_".`
    : null;
  return { document, token, problem, display: page.searchParams.has('display') };
}

/**
 * Where the WebSocket lives: "ws" next to the page, so "/todo/" talks to "/todo/ws"
 * (and "/todo/?doc=shop" to "/todo/ws/shop"); `client` names the tab for exactly-once actions.
 */
export function socketURL(pageHref, since = null, client = null) {
  const { document, token } = pageOptions(pageHref);
  const url = new URL(document ? `ws/${document}` : 'ws', pageHref);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.hash = '';
  url.search = '';
  if (since !== null && since !== undefined) url.searchParams.set('since', String(since));
  if (client) url.searchParams.set('client', client);
  if (token) url.searchParams.set('token', token);
  return url.href;
}

