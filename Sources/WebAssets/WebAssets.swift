/// The web page's files, compiled into the binary by SwiftPM's `.embedInCode`.
///
/// SwiftPM generates one `PackageResources.<name>` constant per file in `Public/`
/// but no table of them, so `files` lists each one: a file added to `Public/`
/// must be added here too.
public enum WebAssets {
    /// A file to serve over HTTP.
    public struct File: Sendable {
        /// The URL path, e.g. `/app.js`.
        public let path: String
        public let contentType: String
        public let bytes: [UInt8]

        init(_ name: String, _ bytes: [UInt8]) {
            self.path = "/" + name
            self.contentType = WebAssets.contentType(forName: name)
            self.bytes = bytes
        }
    }

    /// Every embedded file by URL path.
    public static let files: [String: File] = {
        let list = [
            File("index.html", PackageResources.index_html),
            File("app.js", PackageResources.app_js),
            File("connection.js", PackageResources.connection_js),
            // A symlink to clients/js/patchsync.js: the page and Node programs share one file.
            File("patchsync.js", PackageResources.patchsync_js),
            File("todo-store.js", PackageResources.todo_store_js),
            File("history.js", PackageResources.history_js),
            File("history-panel.js", PackageResources.history_panel_js),
            File("documents-panel.js", PackageResources.documents_panel_js),
            File("tab-client.js", PackageResources.tab_client_js),
            File("presence.js", PackageResources.presence_js),
            File("people-panel.js", PackageResources.people_panel_js),
            File("panel.js", PackageResources.panel_js),
            File("editing-marks.js", PackageResources.editing_marks_js),
            File("refusals.js", PackageResources.refusals_js),
            File("style.css", PackageResources.style_css),
            File("page.js", PackageResources.page_js),
            File("schema-form.js", PackageResources.schema_form_js),
            File("type-form.js", PackageResources.type_form_js),
            File("type-page.js", PackageResources.type_page_js),
            File("type-history.js", PackageResources.type_history_js),
            File("page-controller.js", PackageResources.page_controller_js),
            File("type-form.css", PackageResources.type_form_css),
            File("favicon.svg", PackageResources.favicon_svg),
        ]
        return Dictionary(uniqueKeysWithValues: list.map { ($0.path, $0) })
    }()

    /// The file for a request path; `/` (and any path ending in `/`) is `index.html`.
    public static func file(forPath path: String) -> File? {
        if path.hasSuffix("/") {
            return files[path + "index.html"]
        }
        return files[path]
    }

    /// The Content-Type for a file name, from its extension.
    public static func contentType(forName name: String) -> String {
        let ext = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "html": return "text/html; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "json": return "application/json"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        case "txt": return "text/plain; charset=utf-8"
        case "webmanifest": return "application/manifest+json"
        default: return "application/octet-stream"
        }
    }
}
