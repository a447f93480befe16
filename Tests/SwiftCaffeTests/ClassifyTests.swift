import Foundation
import XCTest
@testable import SwiftCaffe

/// Images and expectations from Fixtures/images/make_image_fixtures.py:
/// OpenCV's decode of each image, and OpenCV DNN's outputs for a tiny
/// classifier after Caffe's preprocessing.
final class ClassifyTests: XCTestCase {
    func image(_ f: String) -> String { Paths.fixture("images/\(f)") }

    /// Our decode as H×W×3 BGR floats, OpenCV's layout.
    private func bgr(_ img: RGBImage) -> [Float] {
        var out: [Float] = []
        for i in 0..<(img.width * img.height) { for c in [2, 1, 0] { out.append(Float(img.pixels[i * 3 + c])) } }
        return out
    }

    func testDecodesEveryKindLikeOpenCV() throws {
        // PNG decodes exactly; JPEG within the rounding of different libjpeg builds.
        for (f, tolerance, channels) in [("rgb.png", 0, 3), ("rgba.png", 0, 4), ("grey.png", 0, 1), ("rgb16.png", 0, 3),
                                         ("photo.jpg", 2, 3), ("grey.jpg", 2, 1), ("cmyk.jpg", 3, 4)] as [(String, Float, Int)] {
            let img = try RGBImage.read(path: image(f))
            XCTAssertEqual([img.height, img.width], [20, 24], f)
            XCTAssertEqual(img.sourceChannels, channels, f)
            let expected = try NPY.read(path: image(f + ".bgr.npy"))
            XCTAssertEqual(expected.shape, [20, 24, 3], f)
            let worst = zip(bgr(img), expected.values).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, tolerance, f)
        }
    }

    func testBadImagesSayWhy() throws {
        let cases = [("truncated.png", "corrupt or unsupported PNG"), ("tiny_classifier.prototxt", "not a JPEG or PNG image (SwiftCaffe decodes those two)")]
        for (f, text) in cases {
            XCTAssertThrowsError(try RGBImage.read(path: image(f))) { e in
                XCTAssertTrue("\(e)".hasPrefix("\(image(f)): error: \(text)"), "\(e)")
            }
        }
    }

    func testPreprocessingAndNetMatchOpenCV() throws {
        let loaded = try ModelFile.loadNet(path: image("tiny_classifier.prototxt"))
        for (name, oversample) in [("center", false), ("oversample", true)] {
            let prep = ClassifierPreprocessing(resize: (20, 20), crop: (16, 16), mean: .values([104, 117, 123]), oversample: oversample)
            let crops = try prep.crops(try RGBImage.read(path: image("rgb.png")))
            XCTAssertEqual(crops.count, oversample ? 10 : 1)
            let net = try Net(graph: try NetGraph.build(loaded.net, options: .init(inputShapes: ["data": [crops.count, 3, 16, 16]])))
            _ = try WeightCopier.copy(try CaffeModel(path: image("tiny.caffemodel")), into: net)
            net.blob("data")!.set(crops.flatMap { $0 })
            try net.forward()
            let fc = try NPY.read(path: image("tiny.\(name).fc.npy"))
            let scale = fc.values.map { abs($0) }.max()!
            XCTAssertLessThanOrEqual(zip(net.blob("fc")!.values, fc.values).map { abs($0 - $1) }.max()!, 1e-4 * scale, name)
            let prob = try NPY.read(path: image("tiny.\(name).npy")).values
            var averaged = [Float](repeating: 0, count: 6)
            for k in 0..<crops.count { for c in 0..<6 { averaged[c] += net.blob("prob")!.values[k * 6 + c] / Float(crops.count) } }
            XCTAssertLessThanOrEqual(zip(averaged, prob).map { abs($0 - $1) }.max()!, 1e-4, name)
        }
    }
}
