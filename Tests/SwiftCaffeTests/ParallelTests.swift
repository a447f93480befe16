import Foundation
import XCTest
@testable import SwiftCaffe

/// Parallel.forEach on its spinning workers: every index runs exactly once
/// and its writes are seen after the loop, whether the workers are still
/// polling or asleep; loops started inside a loop or beside one (from a
/// second thread) run on their caller; more threads than cores go to
/// Dispatch.
final class ParallelTests: XCTestCase {
    var savedThreads = 1

    override func setUp() { savedThreads = Parallel.threads }
    override func tearDown() { Parallel.threads = savedThreads }

    /// Runs forEach(n) writing index + round into its slot; returns whether
    /// each slot holds its value, and the threads the loop ran on.
    private static func loop(_ n: Int, round: Int) -> (correct: Bool, threads: Set<UInt>) {
        var slots = [Int](repeating: -1, count: n)
        let ids = UnsafeMutablePointer<UInt>.allocate(capacity: n)
        defer { ids.deallocate() }
        slots.withUnsafeMutableBufferPointer { buffer in
            let (out, who) = (SharedPointer(buffer.baseAddress!), SharedPointer(ids))
            Parallel.forEach(n) { i in
                out[i] = i + round
                who[i] = UInt(pthread_self())
            }
        }
        let correct = slots.enumerated().allSatisfy { $0.element == $0.offset + round }
        return (correct, Set((0..<n).map { ids[$0] }))
    }

    func testEveryIndexRunsOnceWhetherTheWorkersPollOrSleep() {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        Parallel.threads = min(2, cores)
        var threadsSeen = Set<UInt>()
        for round in 0..<3000 {
            // Now and then a pause past the workers' polling time, so they
            // sleep and must be woken.
            if round % 100 == 99 { usleep(2000) }
            let n = [2, 3, 7, 64, 1001][round % 5]
            let (correct, threads) = Self.loop(n, round: round)
            XCTAssertTrue(correct, "round \(round), n \(n)")
            if !correct { return }
            threadsSeen.formUnion(threads)
        }
        if cores >= 2 && Parallel.spinningThreads >= 2 {
            XCTAssertGreaterThanOrEqual(threadsSeen.count, 2, "the loops ran on the calling thread alone")
        }
    }

    func testLoopsInsideALoopOrBesideOneRunOnTheirCaller() {
        Parallel.threads = min(2, ProcessInfo.processInfo.activeProcessorCount)
        // Nested: each outer index runs an inner loop of its own.
        var sums = [Int](repeating: 0, count: 8)
        sums.withUnsafeMutableBufferPointer { buffer in
            let out = SharedPointer(buffer.baseAddress!)
            Parallel.forEach(8) { i in
                var inner = [Int](repeating: 0, count: 100)
                inner.withUnsafeMutableBufferPointer { b in
                    let p = SharedPointer(b.baseAddress!)
                    Parallel.forEach(100) { j in p[j] = i * j }
                }
                out[i] = inner.reduce(0, +)
            }
        }
        XCTAssertEqual(sums, (0..<8).map { $0 * 4950 })

        // Beside: two more threads run loops while this one does.
        final class Outcome: @unchecked Sendable { var correct = true }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        for n in [33, 17] {
            Thread {
                for round in 0..<500 where !Self.loop(n, round: round).correct { outcome.correct = false }
                done.signal()
            }.start()
        }
        for round in 0..<500 { XCTAssertTrue(Self.loop(29, round: round).correct) }
        done.wait()
        done.wait()
        XCTAssertTrue(outcome.correct)
    }

    func testMoreThreadsThanCoresGoToDispatch() {
        Parallel.threads = ProcessInfo.processInfo.activeProcessorCount + 2
        for round in 0..<50 { XCTAssertTrue(Self.loop(100, round: round).correct) }
    }
}
