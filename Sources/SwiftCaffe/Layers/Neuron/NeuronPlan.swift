/// Element-wise layers: the top has the bottom's shape and there are no
/// parameters. Each checks its own parameters as Caffe does at set-up.
protocol NeuronPlan: LayerPlan {}

extension NeuronPlan {
    static var bottoms: ClosedRange<Int> { 1...1 }
    static var tops: ClosedRange<Int> { 1...1 }
    func plan(_ bottoms: [Shape]) throws -> PlannedShapes { PlannedShapes(tops: [bottoms[0]]) }
}
