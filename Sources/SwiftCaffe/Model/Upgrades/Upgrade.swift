/// One change an upgrade made, for `swiftcaffe upgrade` to list.
public struct UpgradeNote: Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// One legacy format and its upgrade, as Caffe's upgrade_proto performs it.
protocol NetUpgrade {
    static func isNeeded(_ net: ProtoMessage) -> Bool
    static func apply(_ net: inout ProtoMessage, notes: inout [UpgradeNote]) throws
}

/// Brings a net or solver message from any historical syntax to the current one.
public enum Upgrader {
    /// Net upgrades in the order Caffe applies them.
    static var netUpgrades: [any NetUpgrade.Type] { [
        V0NetUpgrade.self, V1NetUpgrade.self, InputUpgrade.self, BatchNormParamUpgrade.self,
    ] }

    public static func upgradeNet(_ net: ProtoMessage) throws -> (ProtoMessage, [UpgradeNote]) {
        var m = net
        var notes: [UpgradeNote] = []
        let n = Caffe.NetParameter(net)
        if n.has(.layer), n.has(.layers) {
            throw CaffeError.at(n.location(of: .layers),
                                "the net has both 'layer' (current) and 'layers' (legacy V1) entries; "
                                    + "use one syntax (run `swiftcaffe upgrade` on the legacy part)")
        }
        for u in netUpgrades where u.isNeeded(m) {
            try u.apply(&m, notes: &notes)
        }
        return (m, notes)
    }

    /// Caffe's solver upgrade: the enum `solver_type` becomes the string `type`;
    /// inline nets are upgraded too.
    public static func upgradeSolver(_ solver: ProtoMessage) throws -> (ProtoMessage, [UpgradeNote]) {
        var m = Caffe.SolverParameter(solver)
        var notes: [UpgradeNote] = []
        if m.has(.solverType) {
            if m.has(.type) {
                throw CaffeError.at(m.location(of: .solverType),
                                    "the solver sets both the old 'solver_type' (enum) and the new 'type' (string); "
                                        + "keep only 'type'")
            }
            let old = m.solverType
            let new: SolverType
            switch old {
            case .sgd: new = .sgd
            case .nesterov: new = .nesterov
            case .adagrad: new = .adaGrad
            case .rmsprop: new = .rmsProp
            case .adadelta: new = .adaDelta
            case .adam: new = .adam
            }
            let loc = m.location(of: .solverType)
            m.clear(.solverType)
            m.set(.type, .string(new.rawValue), at: loc)
            notes.append(UpgradeNote(message: "solver_type: \(old.name) → type: \"\(new.rawValue)\""))
        }
        var netNotes: [UpgradeNote] = []
        let inline: [Caffe.SolverParameter.Field] = [.netParam, .trainNetParam, .testNetParam]
        for field in inline where m.has(field) {
            var upgraded: [ProtoValue] = []
            for n in m.message.messages(field) {
                let (u, ns) = try upgradeNet(n)
                upgraded.append(.message(u))
                netNotes += ns.map { UpgradeNote(message: "\(field.name): \($0.message)") }
            }
            m.set(field, values: upgraded)
        }
        if !netNotes.isEmpty {
            netNotes.append(UpgradeNote(message: "the nets inside the solver were upgraded too (Caffe's upgrade_solver_proto_text "
                                        + "converts solver_type only and leaves them as they were)"))
        }
        return (m.message, notes + netNotes)
    }
}

/// Legacy `input` + `input_dim` / `input_shape` become an Input layer named
/// "input" at the start of the net.
enum InputUpgrade: NetUpgrade {
    static func isNeeded(_ net: ProtoMessage) -> Bool {
        let n = Caffe.NetParameter(net)
        return n.has(.input) || n.has(.inputDim) || n.has(.inputShape)
    }

    static func apply(_ net: inout ProtoMessage, notes: inout [UpgradeNote]) throws {
        var n = Caffe.NetParameter(net)
        let inputs = n.input
        let dims = n.inputDim
        let shapes = n.inputShape
        let loc = n.location(of: .input)
        if !shapes.isEmpty, !dims.isEmpty {
            throw CaffeError.at(n.location(of: .inputDim),
                                "give the net's inputs either 'input_dim' or 'input_shape', not both")
        }
        if !shapes.isEmpty, shapes.count != inputs.count {
            throw CaffeError.at(n.location(of: .inputShape),
                                "\(inputs.count) input(s) need \(inputs.count) 'input_shape' entries, found \(shapes.count)")
        }
        if shapes.isEmpty, dims.count != 4 * inputs.count {
            throw CaffeError.at(n.location(of: dims.isEmpty ? .input : .inputDim),
                                "\(inputs.count) input(s) need \(4 * inputs.count) 'input_dim' values "
                                    + "(num, channels, height, width each), found \(dims.count)")
        }
        var layer = Caffe.LayerParameter(at: loc)
        layer.append(.name, .string("input"), at: loc)
        layer.append(.type, .string(InputPlan.type), at: loc)
        var param = Caffe.InputParameter(at: loc)
        for (i, name) in inputs.enumerated() {
            layer.append(.top, .string(name), at: n.location(of: .input, at: i))
            if !shapes.isEmpty {
                param.append(.shape, .message(shapes[i].message))
            } else {
                var s = Caffe.BlobShape(at: n.location(of: .inputDim, at: 4 * i))
                for d in dims[(4 * i)..<(4 * i + 4)] { s.append(.dim, .int(Int64(d))) }
                param.append(.shape, .message(s.message))
            }
        }
        layer.append(.inputParam, .message(param.message), at: loc)
        n.set(.layer, values: [.message(layer.message)] + n.values(.layer))
        n.clear(.input)
        n.clear(.inputDim)
        n.clear(.inputShape)
        net = n.message
        notes.append(UpgradeNote(message: "net inputs (\(shapes.isEmpty ? "input_dim" : "input_shape")) → Input layer 'input' with top(s) \(inputs.joined(separator: ", "))"))
    }
}

/// Old BatchNorm definitions gave three ParamSpecs to freeze the statistics.
/// Caffe's UpgradeNetBatchNorm keeps them and sets each one's lr_mult and
/// decay_mult to 0 (other fields, such as a sharing name, stay).
enum BatchNormParamUpgrade: NetUpgrade {
    private static func needsUpgrade(_ l: Caffe.LayerParameter) -> Bool { l.type == BatchNormPlan.type && l.param.count == 3 }

    static func isNeeded(_ net: ProtoMessage) -> Bool { Caffe.NetParameter(net).layer.contains(where: needsUpgrade) }

    static func apply(_ net: inout ProtoMessage, notes: inout [UpgradeNote]) throws {
        var n = Caffe.NetParameter(net)
        var layers = n.layer
        for i in layers.indices where needsUpgrade(layers[i]) {
            let specs = layers[i].param.map { spec -> ProtoValue in
                var s = spec
                s.set(.lrMult, .float(0), at: spec.location(of: .lrMult))
                s.set(.decayMult, .float(0), at: spec.location(of: .decayMult))
                return .message(s.message)
            }
            layers[i].set(.param, values: specs)
            notes.append(UpgradeNote(message: "BatchNorm layer '\(layers[i].name)': its 3 param specs get lr_mult: 0 and decay_mult: 0 "
                                     + "(statistics are not learned), as Caffe's upgrade does"))
        }
        n.set(.layer, values: layers.map { .message($0.message) })
        net = n.message
    }
}
