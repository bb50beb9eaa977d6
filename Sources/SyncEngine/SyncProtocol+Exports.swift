// The protocol types the engine's public API takes and gives (`SessionEngine`, `TransportSession`,
// `ActionRejected`, `DocumentStore`): a program using the engine gets them with it. The rest of
// `SyncProtocol` (the typed messages) is imported by whoever reads or writes messages.
@_exported import enum SyncProtocol.SyncErrorCode
@_exported import struct SyncProtocol.CloseCode
@_exported import enum SyncProtocol.SessionRole
@_exported import class SyncProtocol.OutboundMessage
