import Foundation

/// Deterministic parameters and inputs from one formula,
///   value(i) = sin(0.37·i + salt)·scale   (computed in Double, stored as Float),
/// which the OpenCV reference script (Tests/.../opencv/make_opencv_fixtures.py)
/// and the benchmark's OpenCV peer compute too, so both sides run the same
/// weights without shipping weight files. salt = file layer index + 0.5·blob
/// index; weights scale √(3/fan_in), biases 0.1; BatchNorm variances 1.5 + v,
/// its scale factor 2; Scale's γ 1 + 0.5·v.
public enum FormulaParameters {
    public static func values(_ n: Int, salt: Double, scale: Double) -> [Float] {
        (0..<n).map { Float(sin(Double($0) * 0.37 + salt) * scale) }
    }

    public static func parameters(layerIndex i: Int, blob j: Int, shape: Shape, type: String) -> [Float] {
        let n = count(shape), salt = Double(i) + 0.5 * Double(j)
        if type == BatchNormPlan.type {
            if j == 2 { return Array(repeating: 2, count: n) }
            let v = values(n, salt: salt, scale: 1)
            return j == 1 ? v.map { $0 + 1.5 } : v
        }
        if type == ScalePlan.type, j == 0 { return values(n, salt: salt, scale: 0.5).map { $0 + 1 } }
        if j == 0, shape.count > 1 { return values(n, salt: salt, scale: (3.0 / Double(n / shape[0])).squareRoot()) }
        return values(n, salt: salt, scale: 0.1)
    }

    /// Sets every parameter blob of `net`; layers are numbered as in the file.
    public static func fill(_ net: Net, fileLayers: [LayerParameter]) {
        var index: [String: Int] = [:]
        for (i, l) in fileLayers.enumerated() where index[l.name] == nil { index[l.name] = i }
        for layer in net.layers {
            guard let i = index[layer.name] else { continue }
            for (j, p) in layer.params.enumerated() {
                p.set(parameters(layerIndex: i, blob: j, shape: p.shape, type: layer.type))
            }
        }
    }
}
