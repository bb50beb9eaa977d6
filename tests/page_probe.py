"""Timing and heap figures taken inside a Chromium page, from outside the page's own code.

A script installed before the page loads (DevTools `Page.addScriptToEvaluateOnNewDocument`)
wraps the WebSocket `onmessage` handler. For each message it notes the event's arrival time,
lets the page handle it (the page updates the DOM synchronously), then waits for the next
`requestAnimationFrame` callback: the time from arrival to that callback is what a person waits
to see the change. Patches go into a fixed buffer, so the probe itself does not grow the heap.
"""

PROBE = r"""
(() => {
  if (window.__pageProbe) return;  // installed twice on one browser
  const capacity = 20000;
  const probe = {
    patchMs: new Float64Array(capacity), patches: 0, fullPaintedAt: null, fulls: 0, version: null,
    reset() { this.patches = 0; },
    latencies() { return Array.from(this.patchMs.subarray(0, Math.min(this.patches, capacity))); },
  };
  Object.defineProperty(window, '__pageProbe', { value: probe });
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
          requestAnimationFrame(() => {
            probe.patchMs[probe.patches % capacity] = performance.now() - arrival;
            probe.patches += 1;
          });
        } else if (type === 'Full') {
          requestAnimationFrame(() => { probe.fullPaintedAt = performance.now(); probe.fulls += 1; });
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


def reset(browser):
    browser.execute_script("window.__pageProbe.reset()")


def patch_latencies(browser):
    """Milliseconds from each Patch's arrival to the next animation frame after it was applied."""
    return browser.execute_script("return window.__pageProbe.latencies()")


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
