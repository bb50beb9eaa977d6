import Glibc
import SyncEngine

/// The last large message compressed for permessage-deflate sessions, so that sessions sent
/// the same message (joining at one version, or watching one large change) share one
/// compression; and its pieces, so that the next version's Full, which differs in a few rows,
/// compresses only the pieces holding them again (about 5 ms a version for a 600 KB list before).
///
/// A message is cut where its content says (`ContentDefinedCuts`) and each piece compressed
/// apart (`PerMessageDeflate.compressedPiece`); a piece byte for byte equal to one of the
/// previous message's reuses its compressed bytes. A client inflates the same payload: only the
/// compressed bytes differ from one compression of the whole (a few percent larger, since each
/// piece starts without the window of the one before).
struct CompressedMessageCache {
    private struct Piece {
        /// Where it is in `message`'s payload.
        let range: Range<Int>
        /// Compressed, with the sync flush's marker.
        let body: [UInt8]
    }

    var cuts = ContentDefinedCuts()
    /// Held so that its identity stays unique while it is the key, and its pieces can be compared.
    private var message: OutboundMessage?
    private var pieces: [Piece] = []
    private var compressed: [UInt8]?
    /// Pieces compressed so far (the rest were reused): what the cache saves, for tests.
    private(set) var piecesCompressed = 0

    /// `message`'s payload as a permessage-deflate message body, or nil if zlib failed.
    mutating func compressed(_ message: OutboundMessage) -> [UInt8]? {
        if message === self.message { return compressed }
        let payload = message.payload
        guard payload.count > 0 else { return PerMessageDeflate.compress(payload) }
        var previous: [Int: [Piece]] = [:]
        for piece in pieces { previous[piece.range.count, default: []].append(piece) }
        let previousPayload = self.message?.payload
        var newPieces: [Piece] = []
        var body: [UInt8] = []
        body.reserveCapacity(pieces.reduce(0) { $0 + $1.body.count } + 1024)
        for range in cuts.pieces(of: payload) {
            let bytes = UnsafeRawBufferPointer(rebasing: payload[range])
            let reused = previousPayload.flatMap { old in
                previous[range.count]?.first {
                    memcmp(old.baseAddress! + $0.range.lowerBound, bytes.baseAddress!, range.count) == 0
                }
            }
            let pieceBody: [UInt8]
            if let reused {
                pieceBody = reused.body
            } else {
                guard let fresh = PerMessageDeflate.compressedPiece(bytes) else {
                    forget()
                    return nil
                }
                piecesCompressed += 1
                pieceBody = fresh
            }
            newPieces.append(Piece(range: range, body: pieceBody))
            body.append(contentsOf: pieceBody)
        }
        body.removeLast(PerMessageDeflate.flushMarker.count)
        self.message = message
        pieces = newPieces
        compressed = body
        return body
    }

    private mutating func forget() {
        message = nil
        pieces = []
        compressed = nil
    }
}
