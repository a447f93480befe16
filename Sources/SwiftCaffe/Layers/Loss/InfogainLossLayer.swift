/// The infogain matrix comes from `source` or a third bottom.
struct InfogainLossPlan: LabelLossPlan {
    static let type = "InfogainLoss"
    static let bottoms = 2...3
    init(_ l: LayerParameter) throws {}
}
