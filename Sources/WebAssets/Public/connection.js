// One WebSocket to the server that comes back by itself: exponential backoff
// with jitter after a loss, resume from a version when the caller has one.

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

/**
 * Delay before reconnect attempt `attempt` (0-based): doubles from `initial`
 * up to `max`, then scaled by a random factor in [0.5, 1) so that many pages
 * do not all come back in the same instant.
 */
export function backoffDelay(attempt, { initial = 500, max = 10_000 } = {}, random = Math.random) {
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** @typedef {'connecting' | 'connected' | 'offline'} ConnectionStatus */

export class Connection {
  /**
   * @param {object} options
   * @param {(since: number | null) => string} options.url URL to open, given the version to resume from
   * @param {() => number | null} options.resumeVersion version to resume from, or null for a Full
   * @param {(message: unknown) => void} options.onMessage called with each parsed message
   * @param {(status: ConnectionStatus, detail: { retryAt?: number }) => void} options.onStatus
   * @param {() => void} [options.onLost] called when an open connection is lost
   * @param {typeof WebSocket} [options.WebSocket]
   * @param {{ initial?: number, max?: number }} [options.backoff]
   */
  constructor({ url, resumeVersion, onMessage, onStatus, onLost = () => {}, WebSocket = globalThis.WebSocket, backoff = {} }) {
    this.url = url;
    this.resumeVersion = resumeVersion;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onLost = onLost;
    this.WebSocket = WebSocket;
    this.backoff = backoff;
    this.socket = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.status = null;
  }

  start() {
    this.open();
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === this.WebSocket.OPEN;
  }

  /** Sends a message; false when there is no open connection to send it on. */
  send(message) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** Drops the connection and opens a new one at once (the caller decides about resuming). */
  reconnectNow() {
    this.clearRetry();
    this.drop();
    this.open();
  }

  /**
   * Closes the connection and stops retrying, e.g. when the page is hidden for the
   * back/forward cache (Chromium would keep its WebSocket open there); `start()` resumes.
   */
  stop() {
    this.clearRetry();
    this.drop();
  }

  /** Tries at once if waiting for a retry, e.g. when the device comes back online. */
  retrySoon() {
    if (this.retryTimer !== null) this.reconnectNow();
  }

  setStatus(status, detail = {}) {
    this.status = status;
    this.onStatus(status, detail);
  }

  open() {
    this.setStatus('connecting');
    let socket;
    try {
      socket = new this.WebSocket(this.url(this.resumeVersion()));
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (socket !== this.socket) return;
      this.setStatus('connected');
    };
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      this.attempt = 0;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(message);
    };
    socket.onclose = () => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.onLost();
      this.scheduleRetry();
    };
    // An error is always followed by close, which handles it.
    socket.onerror = () => {};
  }

  drop() {
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    try {
      socket.close(1000);
    } catch {
      // Closing a socket that never opened can throw in some browsers; it is gone either way.
    }
    this.onLost();
  }

  clearRetry() {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  scheduleRetry() {
    this.clearRetry();
    const delay = backoffDelay(this.attempt, this.backoff);
    this.attempt += 1;
    this.setStatus('offline', { retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }
}
