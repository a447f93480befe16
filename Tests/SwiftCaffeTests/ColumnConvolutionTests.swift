import Foundation
import XCTest
@testable import SwiftCaffe

/// The product engines (Columns and Pointwise at batch 1, SmallImage with
/// an image per thread) against the convolution's definition in double
/// precision, on the maps where NarrowGEMM pads the columns' rows to whole
/// 64-byte lines and takes 49–64 columns as one strip of four vectors:
/// 7×7 (49), 8×8 (64), two images side by side (rows of 2 × 196), with the
/// bias.
final class ColumnConvolutionTests: XCTestCase {
    typealias Case = DirectConvolutionTests.Case

    private var savedThreads = 1
    override func setUp() { savedThreads = Parallel.threads }
    override func tearDown() { Parallel.threads = savedThreads }

    func testTheGEMMEnginesMatchTheDefinition() throws {
        var random = RandomSource(seed: 21)
        Parallel.threads = 2
        let cases = [
            Case(shape: [1, 64, 7, 7], outputs: 40, kernel: (3, 3), pad: (1, 1)),          // ResNet's res5 at batch 1: 49 columns
            Case(shape: [1, 48, 15, 15], outputs: 24, kernel: (3, 3), stride: (2, 2), pad: (1, 1)),  // 64 columns
            Case(shape: [3, 40, 9, 9], outputs: 20, kernel: (3, 3)),                       // SmallImage: 49 columns per image
            Case(shape: [2, 64, 14, 14], outputs: 24, kernel: (5, 5), pad: (2, 2)),        // two images' 196 columns in one row
            Case(shape: [1, 64, 13, 13], outputs: 100, kernel: (1, 1)),                    // Pointwise: the image copied to rows of 176
            Case(shape: [1, 32, 8, 8], outputs: 20, kernel: (1, 1)),                       // Pointwise on rows of 64, read in place
        ]
        for c in cases {
            let (layer, error) = try DirectConvolutionTests.layerError(c, random: &random)
            XCTAssertFalse(layer.usesWinograd || layer.usesDirect, "\(c)")
            XCTAssertLessThan(error, 1e-5, "\(c)")
        }
    }
}
