// The tab's client id for exactly-once actions (`?client=ID`). It lives in
// sessionStorage, so a reload keeps it and resends the outbox under the same id.
// A duplicated tab copies sessionStorage, outbox included: it must take a fresh id
// and leave the copied actions to the tab that made them.

const CLIENT_KEY = 'patchsync:client';
// Set while a page of this tab is shown; a page that finds it set is a copy of a live
// tab (or follows a crash), so it asks the other tabs whether the id is taken.
const SHOWN_KEY = 'patchsync:shown';
const CHANNEL = 'patchsync-client';
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * @param {object} options
 * @param {Storage} options.storage the tab's sessionStorage
 * @param {() => string} options.makeId a fresh random id (letters, digits, "-")
 * @param {EventTarget} options.page where `pagehide` and `pageshow` arrive (window)
 * @param {typeof BroadcastChannel} [options.Channel]
 * @param {number} [options.answerWithin] ms to wait for another tab to claim the id
 * @returns {Promise<{ id: string, duplicated: boolean }>} `duplicated`: the stored id
 *   belonged to another live tab, so anything copied from it is not this tab's
 */
export async function tabClient({ storage, makeId, page, Channel = globalThis.BroadcastChannel, answerWithin = 250 }) {
  const stored = read(storage, CLIENT_KEY);
  const copied = read(storage, SHOWN_KEY) !== null;
  let id = stored !== null && CLIENT_ID.test(stored) ? stored : null;
  let duplicated = false;

  const channel = Channel ? new Channel(CHANNEL) : null;
  if (id !== null && copied && channel) duplicated = await claimedElsewhere(channel, id, answerWithin);
  if (id === null || duplicated) {
    id = makeId();
    write(storage, CLIENT_KEY, id);
  }
  // From now on this page answers for its id.
  if (channel) {
    channel.onmessage = ({ data }) => {
      if (data?.asks === id) channel.postMessage({ uses: id });
    };
  }
  write(storage, SHOWN_KEY, '1');
  page.addEventListener('pagehide', () => remove(storage, SHOWN_KEY));
  page.addEventListener('pageshow', () => write(storage, SHOWN_KEY, '1'));
  return { id, duplicated };
}

function claimedElsewhere(channel, id, answerWithin) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), answerWithin);
    channel.onmessage = ({ data }) => {
      if (data?.uses !== id) return;
      clearTimeout(timer);
      resolve(true);
    };
    channel.postMessage({ asks: id });
  });
}

function read(storage, key) {
  try {
    return storage.getItem(key);
  } catch {
    return null;
  }
}

function remove(storage, key) {
  try {
    storage.removeItem(key);
  } catch {
    // Nothing was stored.
  }
}

function write(storage, key, value) {
  try {
    storage.setItem(key, value);
  } catch {
    // Storage disabled: the id lasts as long as the page.
  }
}
