import SyncEngine

/// Renders the engine's and the transport's counters as `/metrics` text, every series prefixed `patchsync_`.
public enum MetricsExposition {
    public static let contentType = PrometheusText.contentType

    public static func render(engine: SyncMetrics.Snapshot, transport: TransportMetrics?) -> String {
        var out = PrometheusText()

        out.family("patchsync_actions_applied_total", "counter", help: "Actions applied and written to the log.")
        out.sample("patchsync_actions_applied_total", engine.actionsApplied)

        out.family(
            "patchsync_actions_rejected_total", "counter", help: "Client messages refused, by error code.")
        // Every code is listed, at 0 too, so that rate() sees a series from the start.
        for code in SyncErrorCode.allCases {
            out.sample("patchsync_actions_rejected_total", labels: ["code": code.rawValue], engine.rejected[code] ?? 0)
        }

        out.family(
            "patchsync_patches_broadcast_total", "counter",
            help: "Patch messages broadcast, each counted once however many sessions got it.")
        out.sample("patchsync_patches_broadcast_total", engine.patchesBroadcast)

        out.family("patchsync_messages_sent_total", "counter", help: "Messages handed to sessions, one per recipient.")
        out.sample("patchsync_messages_sent_total", engine.messagesSent)

        out.family("patchsync_sent_bytes_total", "counter", help: "Bytes of messages handed to sessions.")
        out.sample("patchsync_sent_bytes_total", engine.bytesSent)

        // One histogram of store writes, named for what they are in this store.
        let (writes, help) =
            engine.database == nil
            ? ("patchsync_log_fsync_seconds", "Time to append a batch to a document log and fsync it.")
            : ("patchsync_database_commit_seconds", "Time to commit a batch to the database.")
        out.family(writes, "histogram", help: help)
        for (index, bound) in SyncMetrics.syncBucketBounds.enumerated() where index < engine.syncBuckets.count {
            out.sample(writes + "_bucket", labels: ["le": PrometheusText.format(bound)], engine.syncBuckets[index])
        }
        out.sample(writes + "_bucket", labels: ["le": "+Inf"], engine.syncCount)
        out.sample(writes + "_sum", engine.syncSecondsTotal)
        out.sample(writes + "_count", engine.syncCount)

        if let database = engine.database {
            out.family("patchsync_database_up", "gauge", help: "1 while the database takes writes, 0 while it is out of reach.")
            out.sample("patchsync_database_up", database.up ? 1 : 0)
            out.family(
                "patchsync_database_conflicts_total", "counter",
                help: "Batches another instance committed ahead of, reduced again and retried.")
            out.sample("patchsync_database_conflicts_total", database.conflictsRetried)
            out.family(
                "patchsync_database_notifications_total", "counter", help: "Notifications of other instances' commits.")
            out.sample("patchsync_database_notifications_total", database.notifications)
            out.family(
                "patchsync_database_catch_ups_total", "counter", help: "Catch-ups that applied events committed elsewhere.")
            out.sample("patchsync_database_catch_ups_total", database.catchUps)
            out.family("patchsync_inbox_actions_applied_total", "counter", help: "Actions applied from the SQL inbox.")
            out.sample("patchsync_inbox_actions_applied_total", database.inboxActionsApplied)
        }

        if let bus = engine.presenceBus {
            out.family(
                "patchsync_presence_bus_up", "gauge",
                help: "1 while the presence bus is connected, 0 while this instance hears no other one.")
            out.sample("patchsync_presence_bus_up", bus.up ? 1 : 0)
            out.family(
                "patchsync_presence_messages_sent_total", "counter", help: "Presence messages sent to other instances.")
            out.sample("patchsync_presence_messages_sent_total", bus.messagesSent)
            out.family(
                "patchsync_presence_messages_received_total", "counter",
                help: "Presence messages received from other instances.")
            out.sample("patchsync_presence_messages_received_total", bus.messagesReceived)
        }

        out.family("patchsync_sessions", "gauge", help: "Sessions attached to documents.")
        out.sample("patchsync_sessions", engine.sessions)

        out.family("patchsync_documents", "gauge", help: "Documents held by the server.")
        out.sample("patchsync_documents", engine.documentVersions.count)

        out.family("patchsync_documents_loaded", "gauge", help: "Documents in memory now.")
        out.sample("patchsync_documents_loaded", engine.documentsLoaded)

        out.family(
            "patchsync_action_outcomes", "gauge",
            help: "Outcomes remembered for exactly-once actions, over the loaded documents.")
        out.sample("patchsync_action_outcomes", engine.actionOutcomes)
        out.family(
            "patchsync_action_outcome_bytes", "gauge",
            help: "Bytes of the outcomes remembered for exactly-once actions, as their bound counts them.")
        out.sample("patchsync_action_outcome_bytes", engine.actionOutcomeBytes)

        out.family("patchsync_document_version", "gauge", help: "Current version of each document.")
        for (name, version) in engine.documentVersions.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            out.sample("patchsync_document_version", labels: ["document": name.rawValue], version)
        }

        if let transport {
            out.family("patchsync_connections_open", "gauge", help: "WebSocket connections open now.")
            out.sample("patchsync_connections_open", transport.connectionsOpen)

            out.family("patchsync_connections_total", "counter", help: "WebSocket connections accepted since start.")
            out.sample("patchsync_connections_total", transport.connectionsTotal)

            out.family(
                "patchsync_slow_client_disconnects_total", "counter",
                help: "Sessions closed because they did not read their messages fast enough.")
            out.sample("patchsync_slow_client_disconnects_total", transport.slowClientDisconnects)
        }
        return out.text
    }
}
