import SyncEngine

/// Joins the pieces libwebsockets hands over into whole messages, refusing any
/// message larger than the configured cap before it is fully buffered.
struct MessageAssembler {
    enum Outcome {
        case incomplete
        case complete(IncomingMessage)
        case tooBig
    }

    private let limit: Int
    private var text: [UInt8] = []
    private var byteCount = 0
    private var isBinary = false
    private var inProgress = false

    init(limit: Int) {
        self.limit = limit
    }

    /// Adds one piece. `isBinary` is read only at the start of a message; `isLast` ends it.
    mutating func append(
        _ piece: UnsafeRawBufferPointer, isBinary binary: Bool, isLast: Bool
    ) -> Outcome {
        if !inProgress {
            inProgress = true
            byteCount = 0
            isBinary = binary
        }
        byteCount += piece.count
        if byteCount > limit {
            text = []
            return .tooBig
        }
        // Binary frames are refused by the engine anyway: only their size matters.
        if !isBinary {
            text.append(contentsOf: piece)
        }
        guard isLast else { return .incomplete }
        let message: IncomingMessage = isBinary ? .binary(byteCount: byteCount) : .text(text)
        text = []
        byteCount = 0
        inProgress = false
        return .complete(message)
    }
}
