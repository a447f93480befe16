/// A blob shape, outermost axis first.
public typealias Shape = [Int]

/// What a layer makes of its bottom shapes: top shapes (nil where only the
/// data decides, e.g. a Data layer's image size), parameter blob shapes, and
/// the multiply-accumulates one forward pass over the whole batch costs.
public struct PlannedShapes: Sendable, Equatable {
    public var tops: [Shape?]
    public var params: [Shape] = []
    public var macs: Int = 0
    /// Assumptions the plan had to make, shown to the user.
    public var warnings: [String] = []

    init(tops: [Shape?], params: [Shape] = [], macs: Int = 0, warnings: [String] = []) {
        self.tops = tops
        self.params = params
        self.macs = macs
        self.warnings = warnings
    }
}

/// A problem with one layer's parameters or inputs; the graph adds the layer
/// name, and the layer's location when the error has none of its own.
struct PlanError: Error {
    var message: String
    /// Where the offending field was written (a view's `location(of:)`).
    var location: SourceLocation?

    init(_ message: String, at location: SourceLocation? = nil) {
        self.message = message
        self.location = location
    }
}

/// One Caffe layer type as the graph sees it: its typed parameters (decoded and
/// checked at init, as Caffe's LayerSetUp does) and its shape rule (Reshape).
/// Plans allocate nothing; the runtime builds on them.
protocol LayerPlan: Sendable {
    static var type: String { get }
    /// How many bottoms and tops Caffe accepts for this type.
    static var bottoms: ClosedRange<Int> { get }
    static var tops: ClosedRange<Int> { get }
    /// A loss (Caffe's LossLayer): its first top weighs 1 in the loss unless
    /// loss_weight says otherwise, and it gets a top when written without one.
    static var isLoss: Bool { get }
    init(_ layer: LayerParameter) throws
    func plan(_ bottoms: [Shape]) throws -> PlannedShapes
}

extension LayerPlan {
    static var isLoss: Bool { false }
}

/// Types whose shapes do not depend on a bottom (data layers).
protocol SourcePlan: LayerPlan {
    func plan(topCount: Int) throws -> PlannedShapes
}

extension SourcePlan {
    static var bottoms: ClosedRange<Int> { 0...0 }
    func plan(_ bottoms: [Shape]) throws -> PlannedShapes { fatalError("source plans use plan(topCount:)") }
}

// MARK: helpers shared by the plans

/// Caffe's CanonicalAxisIndex: -1 is the last axis.
func canonicalAxis(_ axis: Int, _ numAxes: Int, at location: SourceLocation? = nil) throws -> Int {
    guard axis >= -numAxes, axis < numAxes else {
        throw PlanError("axis \(axis) is out of range for a \(numAxes)-axis blob (valid: \(-numAxes) to \(numAxes - 1))",
                        at: location)
    }
    return axis < 0 ? axis + numAxes : axis
}

/// Elements in axes a..<b. Saturates at Int.max instead of trapping, so a
/// file with absurd dimensions gets an error, never a crash.
func count(_ s: Shape, from a: Int = 0, to b: Int? = nil) -> Int {
    product(s[a..<(b ?? s.count)])
}

/// A product that saturates at Int.max (sizes and MACs of user-given shapes).
func product<C: Collection>(_ xs: C) -> Int where C.Element == Int {
    var p = 1
    for x in xs {
        let (r, overflow) = p.multipliedReportingOverflow(by: x)
        if overflow { return x < 0 || p < 0 ? Int.min : Int.max }
        p = r
    }
    return p
}

func product(_ xs: Int...) -> Int { product(xs) }

/// Limits that keep shape arithmetic far from overflow: a dimension up to
/// 2^31, a blob up to 2^40 values (4 TiB of floats), a kernel, stride, pad,
/// dilation or group up to 2^24.
enum SizeLimit {
    static let dimension = 1 << 31
    static let blob = 1 << 40
    static let parameter = 1 << 24

    static func check(_ value: Int, _ name: String, at location: SourceLocation?) throws {
        guard value <= parameter else {
            throw PlanError("\(name) \(value) is too large (limit \(parameter))", at: location)
        }
    }

    /// Checks a planned blob: every dimension ≥ 0 and ≤ 2^31, at most 2^40 values.
    static func check(shape s: Shape, what: String) throws {
        guard s.allSatisfy({ $0 >= 0 && $0 <= dimension }), count(s) <= blob else {
            throw PlanError("\(what) would have shape \(describe(s)), beyond SwiftCaffe's limits "
                            + "(each dimension ≤ 2^31, at most 2^40 values)")
        }
    }
}

func describe(_ s: Shape) -> String { s.isEmpty ? "scalar" : s.map(String.init).joined(separator: "×") }

/// Refuses a layer written in place (its first top is its first bottom)
/// whose output cannot overwrite its input; `why` says what moves.
func refuseInPlace(_ l: LayerParameter, because why: String) throws {
    guard let top = l.tops.first, top == l.bottoms.first else { return }
    throw PlanError("\(l.type) cannot write its top in place ('\(top)' is also its bottom): \(why), so give the top its own name")
}

/// Checks that all bottoms have the same shape (Eltwise, SUM-like layers).
func requireSameShapes(_ bottoms: [Shape], what: String) throws {
    for (i, b) in bottoms.enumerated().dropFirst() where b != bottoms[0] {
        throw PlanError("\(what): bottom \(i) has shape \(describe(b)) but bottom 0 has \(describe(bottoms[0])); they must match")
    }
}

/// The shape a Scale/Bias parameter covers: bottom axes [axis, axis+num_axes).
func broadcastShape(_ s: Shape, axis: Int, numAxes: Int, at axisLocation: SourceLocation?, _ numAxesLocation: SourceLocation?) throws -> Shape {
    let a = try canonicalAxis(axis, s.count, at: axisLocation)
    guard numAxes >= -1 else { throw PlanError("num_axes must be ≥ -1", at: numAxesLocation) }
    let end = numAxes == -1 ? s.count : a + numAxes
    guard end <= s.count else { throw PlanError("axis + num_axes (\(end)) exceeds the bottom's \(s.count) axes", at: numAxesLocation) }
    return Array(s[a..<end])
}

/// Checks a second bottom used as the scale or bias against the first.
func checkOperand(_ s: Shape, _ operand: Shape, axis: Int, at axisLocation: SourceLocation?) throws {
    if operand.isEmpty { return }
    let a = try canonicalAxis(axis, s.count, at: axisLocation)
    guard a + operand.count <= s.count, Array(s[a..<(a + operand.count)]) == operand else {
        throw PlanError("bottom 1 (\(describe(operand))) must match bottom 0 (\(describe(s))) from axis \(a) on")
    }
}

/// The image size a data layer delivers when its transform crops; otherwise
/// only the database knows it.
func croppedSize(_ l: LayerParameter) -> Int? {
    let crop = l.proto.transformParam.cropSize
    return crop > 0 ? crop : nil
}
