import Foundation
import XCTest

/// The README's code is the code CI builds.
final class DocsTests: XCTestCase {
    func testReadmeShowsTheExampleProgramCIBuilds() throws {
        let readme = try String(contentsOf: Paths.root.appendingPathComponent("README.md"), encoding: .utf8)
        let program = try String(contentsOf: Paths.root.appendingPathComponent("Examples/Sources/lenet-example/main.swift"), encoding: .utf8)
        XCTAssertTrue(readme.contains("```swift\n" + program + "```\n"),
                      "README.md's Swift example differs from Examples/Sources/lenet-example/main.swift: copy the file into the README")
    }
}
