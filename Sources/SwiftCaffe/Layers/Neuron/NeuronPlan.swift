import Foundation

/// Element-wise layers: the top has the bottom's shape and there are no
/// parameters. Each checks its own parameters as Caffe does at set-up.
protocol NeuronPlan: LayerPlan {}

extension NeuronPlan {
    static var bottoms: ClosedRange<Int> { 1...1 }
    static var tops: ClosedRange<Int> { 1...1 }
    func plan(_ bottoms: [Shape]) throws -> PlannedShapes { PlannedShapes(tops: [bottoms[0]]) }
}

/// Exp's and Log's `base`: > 0, or −1 for e. Returns ln(base).
func naturalLogOfBase(_ base: Double, at location: SourceLocation?) throws -> Float {
    guard base == -1 || base > 0 else { throw PlanError("base must be > 0, or −1 for e; found \(base)", at: location) }
    return base == -1 ? 1 : log(Float(base))
}
