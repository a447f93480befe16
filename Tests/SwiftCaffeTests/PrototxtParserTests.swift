import XCTest
@testable import SwiftCaffe

final class PrototxtParserTests: XCTestCase {
    func testEverySyntaxFormCaffeFilesUse() throws {
        // The fixture starts with a UTF-8 BOM; read it with CRLF line ends too.
        let text = try String(contentsOfFile: Paths.fixture("legacy/syntax_zoo.prototxt"), encoding: .utf8)
        for variant in [text, text.replacingOccurrences(of: "\n", with: "\r\n")] {
            var bytes = Array(variant.utf8)
            if !bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = [0xEF, 0xBB, 0xBF] + bytes }
            let m = Caffe.NetParameter(try PrototxtParser.parse(bytes: bytes, file: "zoo", as: CaffeSchema.netParameter).message)
            XCTAssertEqual(m.name, "zoo_net")
            XCTAssertTrue(m.forceBackward)
            XCTAssertTrue(m.has(.state))
            let state = m.state
            XCTAssertEqual(state.phase.name, "TRAIN")
            XCTAssertEqual(state.level, -2)
            XCTAssertEqual(state.stage, ["a\tbAA"])
            let layers = m.layer
            XCTAssertEqual(layers.count, 6)
            XCTAssertEqual(layers[0].inputParam.shape.last?.dim, [1, 3, 16, 16])
            XCTAssertTrue(layers[1].has(.powerParam))
            let power = layers[1].powerParam
            XCTAssertEqual(power.power, 1)
            XCTAssertEqual(power.scale, 0.5)
            XCTAssertEqual(power.shift, Double(Float(-1e-4)))
            XCTAssertEqual(layers[1].lossWeight, [1.5])
            XCTAssertEqual(layers[1].values(.propagateDown), [.bool(true)])
            XCTAssertEqual(layers[2].poolingParam.pool.name, "AVE")
            XCTAssertEqual(layers[3].thresholdParam.threshold, -.infinity)
            XCTAssertEqual(layers[4].clipParam.max, .infinity)
            XCTAssertEqual(layers[5].expParam.shift, 1)
            // Line numbers survive CRLF and the BOM.
            XCTAssertEqual(layers[1].location?.line, 10)
        }
    }

    func testNumbersBoolsAndEnums() throws {
        let m = try parseNet("""
            layer { name: "a" type: "ReLU" relu_param { negative_slope: 5. } propagate_down: false propagate_down: 1 propagate_down: f }
            layer { name: "b" type: "Convolution" convolution_param { num_output: 0x60 kernel_size: 011 pad: [1, 2] engine: 2 } }
            layer { name: "c" type: "Accuracy" accuracy_param { ignore_label: -1 } phase: 1 }
            """)
        let layers = Caffe.NetParameter(m).layer
        XCTAssertEqual(layers[0].reluParam.negativeSlope, 5)
        XCTAssertEqual(layers[0].values(.propagateDown), [.bool(false), .bool(true), .bool(false)])
        XCTAssertTrue(layers[1].has(.convolutionParam))
        let conv = layers[1].convolutionParam
        XCTAssertEqual(conv.numOutput, 96)
        XCTAssertEqual(conv.kernelSize, [9])  // octal, as protobuf reads a leading 0
        XCTAssertEqual(conv.pad, [1, 2])
        XCTAssertEqual(conv.engine.name, "CUDNN")
        XCTAssertEqual(layers[2].accuracyParam.ignoreLabel, -1)
        XCTAssertEqual(layers[2].phase.name, "TEST")
    }

    // MARK: errors: text, line and column for each kind

    func testUnknownFieldSuggestsTheNearestName() {
        assertError({ try parseNet("layer {\n  convolution_param {\n    kernal_size: 3\n  }\n}\n") },
                    "unknown field 'kernal_size' in ConvolutionParameter (did you mean 'kernel_size'?)", line: 3, column: 5)
    }

    func testAllUnknownFieldsAreListedInOnePass() {
        let ds = diagnostics { try parseNet("layer { foo: 1 name: \"x\" bar { baz: 2 } }\nqux: [1, 2]\nname: \"n\"\n") }
        XCTAssertEqual(ds.map(\.message), ["unknown field 'foo' in LayerParameter", "unknown field 'bar' in LayerParameter",
                                           "unknown field 'qux' in NetParameter"])
        XCTAssertEqual(ds.map { $0.location!.line }, [1, 1, 2])
        XCTAssertEqual(ds.map { $0.location!.column }, [9, 26, 1])
    }

    func testSkipUnknownFieldsWarnsAndGoesOn() throws {
        let r = try PrototxtParser.parse(bytes: Array("name: \"n\"\nlayer { name: \"x\" fork_param { a: 1 } }\n".utf8),
                                         file: "f", as: CaffeSchema.netParameter, options: .init(skipUnknownFields: true))
        XCTAssertEqual(Caffe.NetParameter(r.message).layer.first?.name, "x")
        XCTAssertEqual(r.warnings.map(\.message), ["unknown field 'fork_param' in LayerParameter (did you mean 'norm_param'?); skipped"])
        XCTAssertEqual(r.warnings.first?.severity, .warning)
    }

    /// An SSD train net: every fork field at once, each with the fork it comes from.
    func testForkFieldsAreNamedWithTheirFork() throws {
        let text = """
            layer { name: "data" type: "AnnotatedData" top: "data"
              transform_param { mirror: true resize_param { prob: 1 } distort_param { brightness_prob: 0.5 } }
              annotated_data_param { label_map_file: "x" } }
            layer { name: "pool" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: MAX kernel_size: 2 ceil_mode: false } }
            """
        let ds = diagnostics { try parseNet(text) }
        let ssd = "it comes from SSD (weiliu89/caffe), for"
        XCTAssertEqual(ds.map(\.message), [
            "unknown field 'resize_param' in TransformationParameter: \(ssd) data augmentation, which SwiftCaffe does not implement",
            "unknown field 'distort_param' in TransformationParameter: \(ssd) data augmentation, which SwiftCaffe does not implement",
            "unknown field 'annotated_data_param' in LayerParameter: \(ssd) the AnnotatedData training layer (SwiftCaffe runs SSD deploy nets), "
                + "which SwiftCaffe does not implement",
            "unknown field 'ceil_mode' in PoolingParameter: it comes from several forks (BVLC pull request 3057), for rounding pooled sizes down "
                + "(Caffe rounds up), which SwiftCaffe does not implement",
        ])
        XCTAssertEqual(ds.map { $0.location!.line }, [2, 2, 3, 4])
        let skipped = try PrototxtParser.parse(bytes: Array(text.utf8), file: "f", as: CaffeSchema.netParameter, options: .init(skipUnknownFields: true))
        XCTAssertEqual(skipped.warnings.count, 4)
        XCTAssertTrue(skipped.warnings.allSatisfy { $0.severity == .warning && $0.message.hasSuffix("; skipped") })
    }

    func testWrongValueType() {
        assertError({ try parseNet("layer {\n  convolution_param { num_output: \"96\" }\n}") },
                    "expected an integer for 'num_output' (uint32), found string \"96\"", line: 2, column: 35)
        assertError({ try parseNet("layer { convolution_param { num_output: 9.5 } }") },
                    "expected an integer for 'num_output' (uint32), found number 9.5", line: 1, column: 41)
        assertError({ try parseNet("layer { convolution_param { num_output: -3 } }") },
                    "value -3 is out of range for 'num_output' (uint32): it cannot be negative", line: 1, column: 42)
        assertError({ try parseNet("layer { name: 5 }") },
                    "expected a quoted string for 'name' (string), found number 5", line: 1, column: 15)
        assertError({ try parseNet("force_backward: yes") },
                    "expected true or false for 'force_backward' (bool), found 'yes'", line: 1, column: 17)
        assertError({ try parseNet("layer { convolution_param { axis: 3000000000 } }") },
                    "value 3000000000 is out of range for 'axis' (int32) (largest: 2147483647)", line: 1, column: 35)
    }

    func testUnknownEnumValueListsTheValidOnes() {
        assertError({ try parseNet("layer {\n  pooling_param { pool: MAXX }\n}") },
                    "unknown value 'MAXX' for 'pool' (enum PoolMethod) (did you mean 'MAX'?); valid values: MAX, AVE, STOCHASTIC",
                    line: 2, column: 25)
        assertError({ try parseNet("layer { pooling_param { pool: 7 } }") },
                    "unknown value 7 for 'pool' (enum PoolMethod); valid values: MAX, AVE, STOCHASTIC", line: 1, column: 31)
    }

    func testNonRepeatedFieldGivenTwice() {
        let ds = diagnostics { try parseNet("layer {\n  name: \"a\"\n  name: \"b\"\n}") }
        XCTAssertEqual(ds.first?.message, "field 'name' of LayerParameter is given twice but is not repeated")
        XCTAssertEqual(ds.first?.location?.line, 3)
        XCTAssertEqual(ds.first?.notes.first?.message, "first given here")
        XCTAssertEqual(ds.first?.notes.first?.location?.line, 2)
        assertError({ try parseNet("name: [\"a\", \"b\"]") },
                    "field 'name' of NetParameter is not repeated; a list [ ... ] needs a repeated field", line: 1, column: 7)
    }

    func testMissingClosingBracePointsAtTheOpeningOne() {
        let ds = diagnostics { try parseNet("layer {\n  name: \"a\"\n  pooling_param {\n    pool: MAX\n  }\n") }
        XCTAssertEqual(ds.first?.message, "expected '}' to close 'layer' before the end of the file")
        XCTAssertEqual(ds.first?.location?.line, 6)
        XCTAssertEqual(ds.first?.notes.first?.message, "'layer' opened here")
        XCTAssertEqual(ds.first?.notes.first?.location?.line, 1)
        XCTAssertEqual(ds.first?.notes.first?.location?.column, 7)
        let mixed = diagnostics { try parseNet("layer < name: \"a\" }") }
        XCTAssertEqual(mixed.first?.message, "expected '>' to close 'layer', found '}'")
        XCTAssertEqual(mixed.first?.notes.first?.location?.column, 7)
    }

    func testExtraClosingBrace() {
        assertError({ try parseNet("layer {\n  name: \"a\"\n}\n}\n") },
                    "unexpected '}': no message is open here (an extra closing brace?)", line: 4, column: 1)
    }

    func testUnterminatedString() {
        assertError({ try parseNet("layer {\n  name: \"conv1\n}\n") },
                    "unterminated string: add the closing \" before the end of the line", line: 2, column: 9)
    }

    func testEmptyAndBinaryFiles() {
        assertError({ try parseNet("") }, "file is empty: expected Caffe prototxt text", line: 1, column: 1)
        assertError({ try parseNet("  \n\n") }, "file is empty: expected Caffe prototxt text", line: 1, column: 1)
        assertError({ try parseNet("# only a comment\n") }, "file has no fields: expected a NetParameter in protobuf text format",
                    line: 1, column: 1)
        assertError({ try PrototxtParser.parse(bytes: [0x0A, 0x05, 0x63, 0x6F, 0x6E, 0x76, 0x00, 0x12], file: "test.prototxt",
                                               as: CaffeSchema.netParameter) },
                    "this is a binary file, not prototxt text (a .caffemodel or .binaryproto?)", line: 1, column: 1)
    }

    func testMissingColonAndBadTokens() {
        assertError({ try parseNet("name \"x\"") }, "expected ':' after field name 'name', found string \"x\"", line: 1, column: 6)
        assertError({ try parseNet("layer { name: \"x\" } @") }, "unexpected character '@'", line: 1, column: 21)
        assertError({ try parseNet("layer: 5") }, "expected '{' after 'layer' (message LayerParameter), found number 5", line: 1, column: 8)
        assertError({ try parseNet("layer { clip_param { min: 1 } }") }, "required field 'max' of ClipParameter is missing",
                    line: 1, column: 20)
    }

    func testRenderedErrorShowsTheLineAndACaret() {
        do {
            _ = try parseNet("layer {\n\tconvolution_param { kernal_size: 3 }\n}")
            XCTFail("no error")
        } catch let e as CaffeError {
            XCTAssertEqual(e.description, """
                test.prototxt:2:22: error: unknown field 'kernal_size' in ConvolutionParameter (did you mean 'kernel_size'?)
                 convolution_param { kernal_size: 3 }
                                     ^
                """)
        } catch { XCTFail("\(error)") }
    }

    func testPrintThenParseGivesTheSameMessage() throws {
        let files = Paths.allPrototxt
        XCTAssertGreaterThanOrEqual(files.count, 12)
        for f in files {
            let kind = PrototxtKind.detect(bytes: try readFile(f), file: f)
            let schema = kind == .solver ? CaffeSchema.solverParameter : CaffeSchema.netParameter
            let m = try PrototxtParser.parse(file: f, as: schema).message
            let printed = PrototxtPrinter.print(m)
            let again = try PrototxtParser.parse(bytes: Array(printed.utf8), file: f + " (printed)", as: schema).message
            XCTAssertEqual(again, m, f)
            XCTAssertEqual(PrototxtPrinter.print(again), printed, f)
        }
    }

    func testPrinterWritesCanonicalText() throws {
        let m = try parseNet("layer { type: 'ReLU' name: \"r\\\"1\" relu_param{negative_slope:1e-5} } name: 'n'")
        XCTAssertEqual(PrototxtPrinter.print(m), """
            name: "n"
            layer {
              name: "r\\"1"
              type: "ReLU"
              relu_param {
                negative_slope: 1e-05
              }
            }

            """)
    }
}
