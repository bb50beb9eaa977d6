import LibWebsocketsSupport
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
}
