import SyncProtocol

extension SyncErrorCode {
    /// Whether a resend of the refused action would be refused again, so that its outcome is
    /// remembered for exactly-once delivery. Refusals for want of resources are not: a resend
    /// may succeed.
    var isFinal: Bool {
        switch self {
        case .storageUnavailable, .rateLimited, .internalError: false
        default: true
        }
    }
}
