// Where the page connects, from its own URL. The connection itself (one WebSocket that comes
// back by itself, resuming from a version) is `Connection` in patchsync.js, the client module
// the page shares with Node programs (clients/js/patchsync.js).

const DOCUMENT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether `name` is a document name the server accepts. */
export const isDocumentName = (name) => DOCUMENT_NAME.test(name);

/** Why the server refused the page's token, once the page's first request found out. */
let accessRefusal = null;

/**
 * Which list the page shows and the credential it presents, from the page's own URL:
 * `?doc=<name>` picks a document (default: the server's `default`), and a `token`
 * in the query or in the fragment (`#token=...`, never sent in HTTP requests) is
 * passed on to the WebSocket. `&display` asks for the read-only wall-screen view.
 * @returns {{ document: string | null, token: string | null, problem: string | null,
 *   accessRefusal: string | null, display: boolean }}
 */
export function pageOptions(pageHref) {
  const page = new URL(pageHref);
  const fragment = new URLSearchParams(page.hash.slice(1));
  const document = page.searchParams.get('doc');
  const token = page.searchParams.get('token') ?? fragment.get('token');
  const problem = document !== null && !isDocumentName(document)
    ? `"${document}" is not a list name: use up to 64 letters, digits, "-" and "_".`
    : null;
  return { document, token, problem, accessRefusal, display: page.searchParams.has('display') };
}

/**
 * The page's first request was answered 401 or 403: a WebSocket refused the same way looks to
 * the browser like a server that is away, so the page says this instead of "Offline".
 * @param {number} status
 * @param {string | null} token
 */
export function refuseAccess(status, token) {
  if (status === 403) accessRefusal = 'Your access token does not let you open this list.';
  else if (token) accessRefusal = 'This server does not accept the access token in this link (mistyped, or expired).';
  else accessRefusal = 'This server needs an access token: open the link with “#token=…” you were given.';
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


/**
 * Whether the next connection resumes (`?since=V`) or asks for a Full. A server whose data was
 * wiped (or restored from an older copy) refuses a `since` beyond its version with HTTP 400,
 * which a browser never sees: a refused upgrade looks like a server that is away. So after an
 * attempt with `since` that never opened, the next one asks for a Full, as a reload would, and
 * so until a Full arrives; that Full then says whether the server went back in time. A server
 * that was merely away costs one Full instead of the missed Patches.
 */
export class ResumeChoice {
  constructor() {
    /** The version the last attempt resumed from (null: it asked for a Full), and whether it opened. */
    this.tried = null;
    this.opened = false;
    /** The version a refused resume asked for; null while resuming is fine. */
    this.refusedFrom = null;
  }

  /** The `since` for the next attempt, given the version the page holds (null: none). */
  since(held) {
    return this.refusedFrom === null ? held : null;
  }

  /** An attempt starts with `since` (null: without). */
  attempting(since) {
    this.tried = since ?? null;
    this.opened = false;
  }

  /** The attempt's connection opened. */
  open() {
    this.opened = true;
  }

  /** The attempt's connection closed, or never opened. */
  closed() {
    if (!this.opened && this.tried !== null) this.refusedFrom = this.tried;
  }

  /**
   * A Full at `version` arrived. Returns the version the page held when the server turned out to
   * be behind it (its data was replaced), else null.
   */
  full(version) {
    const held = this.refusedFrom;
    this.refusedFrom = null;
    return held !== null && Number.isInteger(version) && version < held ? held : null;
  }
}
