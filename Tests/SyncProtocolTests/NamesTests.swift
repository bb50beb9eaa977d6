import SyncProtocol
import Testing

/// The names and numbers clients switch on never change.
@Suite struct NamesTests {
    @Test func rolesHaveOneName() {
        #expect(SessionRole.allCases.map(\.rawValue) == ["editor", "viewer"])
        #expect(SessionRole(rawValue: "watcher") == nil)
    }

    @Test func closeCodes() {
        let codes: [CloseCode] = [.normal, .goingAway, .invalidPayload, .policyViolation, .messageTooBig, .tryAgainLater]
        #expect(codes.map(\.rawValue) == [1000, 1001, 1007, 1008, 1009, 1013])
    }

    @Test func errorCodes() {
        #expect(
            SyncErrorCode.allCases.map(\.rawValue) == [
                "invalid_json", "not_an_object", "unknown_type", "invalid_action", "invalid_index", "too_deep",
                "binary_not_supported", "forbidden", "storage_unavailable", "rate_limited", "string_too_long",
                "document_too_large", "too_many_members", "too_many_documents", "internal_error", "duplicate_id",
                "invalid_patch", "model_mismatch", "test_failed", "conflict",
            ])
    }
}
