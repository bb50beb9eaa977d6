import CLibWebsockets
import Glibc

/// lws's permessage-deflate, as the table a context's `extensions` points to (lws reads it up to
/// an all-zero entry). The same for every context, server or client: built once, never freed.
package nonisolated(unsafe) let permessageDeflateExtensions: UnsafePointer<lws_extension> = {
    let table = UnsafeMutablePointer<lws_extension>.allocate(capacity: 2)
    var deflate = lws_extension()
    deflate.name = UnsafePointer(strdup("permessage-deflate"))
    deflate.callback = lws_extension_callback_pm_deflate
    deflate.client_offer = UnsafePointer(strdup("permessage-deflate; client_max_window_bits"))
    table.initialize(to: deflate)
    (table + 1).initialize(to: lws_extension())
    return UnsafePointer(table)
}()
