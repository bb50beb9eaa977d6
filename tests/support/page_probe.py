"""Timing and heap figures taken inside a Chromium page, from outside the page's own code.

A script installed before the page loads (DevTools `Page.addScriptToEvaluateOnNewDocument`)
wraps the WebSocket `onmessage` handler. For each message it notes the event's arrival time,
lets the page handle it (the page updates the DOM synchronously), then waits for the next
`requestAnimationFrame` callback: the time from arrival to that callback is what a person waits
to see the change. Patches go into fixed buffers, so the probe itself does not grow the heap.

That figure (issue 9's) leaves out two things a person also waits for, so two more are kept:
- the frame's own work: rAF callbacks run at the start of a frame, before its style, layout
  and paint; a task posted from the callback runs once the frame's main-thread work is done;
- the wait before the page sees the message: "arrival" is when the main thread dispatches it,
  so time it waited behind other work (a keystroke's frame, the browser's own tasks) is not
  counted. For typing, the time from the keystroke (its keydown) to its echo's frame is.
"""

PROBE = r"""
(() => {
  if (window.__pageProbe) return;  // installed twice on one browser
  const capacity = 20000;
  const taken = (buffer, count) => Array.from(buffer.subarray(0, Math.min(count, capacity)));
  const probe = {
    patchMs: new Float64Array(capacity), patches: 0, fullPaintedAt: null, fullFrameDoneAt: null, fulls: 0, version: null,
    frameDoneMs: new Float64Array(capacity), framesDone: 0,
    keyMs: new Float64Array(capacity), keys: 0, lastKeyAt: null,
    reset() { this.patches = 0; this.framesDone = 0; this.keys = 0; this.lastKeyAt = null; },
    latencies() { return taken(this.patchMs, this.patches); },
    frameDone() { return taken(this.frameDoneMs, this.framesDone); },
    keyToEcho() { return taken(this.keyMs, this.keys); },
  };
  Object.defineProperty(window, '__pageProbe', { value: probe });
  // The keystroke a Patch (the next one after it) echoes.
  window.addEventListener('keydown', (event) => { probe.lastKeyAt = event.timeStamp; }, true);
  // A message posted from a rAF callback arrives once that frame's main-thread work is done.
  const afterFrame = new MessageChannel();
  const frameArrivals = [];  // each Patch's arrival, or null for a Full
  afterFrame.port1.onmessage = () => {
    const arrival = frameArrivals.shift();
    if (arrival === null) {
      probe.fullFrameDoneAt = performance.now();
      return;
    }
    probe.frameDoneMs[probe.framesDone % capacity] = performance.now() - arrival;
    probe.framesDone += 1;
  };
  const handler = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage');
  Object.defineProperty(WebSocket.prototype, 'onmessage', {
    configurable: true,
    get() { return handler.get.call(this); },
    set(listener) {
      const wrapped = typeof listener !== 'function' ? listener : function (event) {
        const arrival = event.timeStamp;
        const type = /"type":"(\w+)"/.exec(event.data.slice(0, 40))?.[1];
        const result = listener.call(this, event);
        if (type === 'Patch') {
          // A Patch ends with its version (and `from`): coalesced ones cover several versions.
          const version = /"version":(\d+)[,}][^"]*("from":\d+})?$/.exec(event.data);
          if (version) probe.version = Number(version[1]);
          const keyAt = probe.lastKeyAt;
          probe.lastKeyAt = null;
          requestAnimationFrame(() => {
            const now = performance.now();
            probe.patchMs[probe.patches % capacity] = now - arrival;
            probe.patches += 1;
            if (keyAt !== null) {
              probe.keyMs[probe.keys % capacity] = now - keyAt;
              probe.keys += 1;
            }
            frameArrivals.push(arrival);
            afterFrame.port2.postMessage(null);
          });
        } else if (type === 'Full') {
          requestAnimationFrame(() => {
            probe.fullPaintedAt = performance.now();
            probe.fulls += 1;
            frameArrivals.push(null);
            afterFrame.port2.postMessage(null);
          });
        }
        return result;
      };
      handler.set.call(this, wrapped);
    },
  });
})();
"""


def install(browser):
    """Installs the probe for every page the browser opens from now on."""
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})


def full_painted_ms(browser):
    """Milliseconds from navigation to the frame after the first Full was rendered, or None."""
    return browser.execute_script("return window.__pageProbe.fullPaintedAt")


def full_frame_done_ms(browser):
    """Milliseconds from navigation to the end of the main thread's work on that frame, or None."""
    return browser.execute_script("return window.__pageProbe.fullFrameDoneAt")


def reset(browser):
    browser.execute_script("window.__pageProbe.reset()")


def patch_latencies(browser):
    """Milliseconds from each Patch's arrival to the next animation frame after it was applied."""
    return browser.execute_script("return window.__pageProbe.latencies()")


def frame_done_latencies(browser):
    """Milliseconds from each Patch's arrival to the end of the main thread's work on its frame."""
    return browser.execute_script("return window.__pageProbe.frameDone()")


def keystroke_latencies(browser):
    """Milliseconds from each keystroke (keydown) to the animation frame after the Patch that followed it."""
    return browser.execute_script("return window.__pageProbe.keyToEcho()")


def version_seen(browser):
    """The version of the last Patch the page received (one Patch may cover several versions)."""
    return browser.execute_script("return window.__pageProbe.version")


def heap_after_gc(browser):
    """Bytes of JavaScript heap in use after a full garbage collection."""
    browser.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    return browser.execute_cdp_cmd("Runtime.getHeapUsage", {})["usedSize"]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
