struct HingeLossPlan: LabelLossPlan {
    static let type = "HingeLoss"
    static let bottoms = 2...2
    init(_ l: LayerParameter) throws {}
}
