// swift-tools-version:6.0
// An example program that uses SwiftCaffe as a library: `make examples`
// builds it and runs it from the repository root (CI does too).
import PackageDescription

let package = Package(
    name: "SwiftCaffeExamples",
    dependencies: [
        .package(name: "SwiftCaffe", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "lenet-example",
            dependencies: [.product(name: "SwiftCaffe", package: "SwiftCaffe")]
        ),
    ]
)
