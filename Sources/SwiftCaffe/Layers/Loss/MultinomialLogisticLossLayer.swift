struct MultinomialLogisticLossPlan: LabelLossPlan {
    static let type = "MultinomialLogisticLoss"
    static let bottoms = 2...2
    init(_ l: LayerParameter) throws {}
}
