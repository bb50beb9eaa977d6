import LibWebsocketsSupport
import Synchronization
import Testing

/// The queue into a service thread that the server and the client share, without a context
/// (so no `lws_cancel_service`): what is posted is taken in order, and nothing after `detach()`.
@Suite struct LoopWakeupTests {
    @Test func postedItemsAreTakenInOrderOnce() {
        let wakeup = LoopWakeup<Int>()
        #expect(wakeup.post(1) && wakeup.post(2))
        #expect(wakeup.take().items == [1, 2])
        #expect(wakeup.take().items == [])
    }

    @Test func aStopIsSeenByTheServiceThreadAndMayRefuseLaterPosts() {
        let wakeup = LoopWakeup<Int>()
        wakeup.requestStop()
        #expect(wakeup.isStopRequested)
        // The server still takes work while it shuts down gracefully; the client does not.
        #expect(wakeup.post(1))
        #expect(!wakeup.post(2, refusedOnceStopping: true))
        let work = wakeup.take()
        #expect(work.items == [1] && work.stopRequested)
    }

    @Test func detachingReturnsWhatWasNotTakenAndRefusesTheRest() {
        let wakeup = LoopWakeup<Int>()
        wakeup.post(1)
        #expect(wakeup.detach() == [1])
        #expect(!wakeup.post(2))
        #expect(wakeup.take().items == [])
    }

    /// Counts the cancels of a wakeup attached to a stand-in context.
    private final class CancelCount: Sendable {
        private let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .relaxed) }
        func add() { count.add(1, ordering: .relaxed) }
    }

    private func countingWakeup() -> (LoopWakeup<Int>, CancelCount) {
        let cancels = CancelCount()
        let wakeup = LoopWakeup<Int> { _ in cancels.add() }
        wakeup.attach(context: OpaquePointer(bitPattern: 0x1000)!)
        return (wakeup, cancels)
    }

    @Test func theServiceThreadIsWokenOnceUntilItFindsTheQueueEmpty() {
        let (wakeup, cancels) = countingWakeup()
        wakeup.post(1)
        wakeup.post(2)
        #expect(cancels.value == 1)
        #expect(wakeup.take().items == [1, 2])
        wakeup.post(3)
        #expect(cancels.value == 1)
        #expect(wakeup.take().items == [3] && wakeup.take().items == [])
        wakeup.post(4)
        #expect(cancels.value == 2)
        wakeup.detach()
    }

    @Test func postsWhileWakeupsAreHeldWakeTheThreadOnceAtTheLastRelease() {
        let (wakeup, cancels) = countingWakeup()
        wakeup.holdWakeups()
        wakeup.post(1)
        wakeup.holdWakeups()
        wakeup.post(2)
        wakeup.releaseWakeups()
        wakeup.post(3)
        #expect(cancels.value == 0)
        // Already queued: a service thread awake for other reasons takes them.
        #expect(wakeup.take().items == [1, 2, 3])
        wakeup.post(4)
        wakeup.releaseWakeups()
        #expect(cancels.value == 1)
        #expect(wakeup.take().items == [4])
        wakeup.holdWakeups()
        wakeup.releaseWakeups()
        #expect(cancels.value == 1)
        wakeup.detach()
    }
}
