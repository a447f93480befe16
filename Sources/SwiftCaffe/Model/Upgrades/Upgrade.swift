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
        if m.has("layer"), m.has("layers") {
            throw CaffeError.at(m.location(of: "layers"),
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
        var m = solver
        var notes: [UpgradeNote] = []
        if m.has("solver_type") {
            if m.has("type") {
                throw CaffeError.at(m.location(of: "solver_type"),
                                    "the solver sets both the old 'solver_type' (enum) and the new 'type' (string); "
                                        + "keep only 'type'")
            }
            let old = m.enumName("solver_type")
            let names = ["SGD": "SGD", "NESTEROV": "Nesterov", "ADAGRAD": "AdaGrad", "RMSPROP": "RMSProp",
                         "ADADELTA": "AdaDelta", "ADAM": "Adam"]
            let new = names[old] ?? old
            let loc = m.location(of: "solver_type")
            m.clear("solver_type")
            m.set("type", .string(new), at: loc)
            notes.append(UpgradeNote(message: "solver_type: \(old) → type: \"\(new)\""))
        }
        var netNotes: [UpgradeNote] = []
        for field in ["net_param", "train_net_param", "test_net_param"] {
            guard m.has(field) else { continue }
            var upgraded: [ProtoValue] = []
            for n in m.messages(field) {
                let (u, ns) = try upgradeNet(n)
                upgraded.append(.message(u))
                netNotes += ns.map { UpgradeNote(message: "\(field): \($0.message)") }
            }
            m.set(field, values: upgraded)
        }
        if !netNotes.isEmpty {
            netNotes.append(UpgradeNote(message: "the nets inside the solver were upgraded too (Caffe's upgrade_solver_proto_text "
                                        + "converts solver_type only and leaves them as they were)"))
        }
        return (m, notes + netNotes)
    }
}

/// Legacy `input` + `input_dim` / `input_shape` become an Input layer named
/// "input" at the start of the net.
enum InputUpgrade: NetUpgrade {
    static func isNeeded(_ net: ProtoMessage) -> Bool {
        net.has("input") || net.has("input_dim") || net.has("input_shape")
    }

    static func apply(_ net: inout ProtoMessage, notes: inout [UpgradeNote]) throws {
        let inputs = net.strings("input")
        let dims = net.ints("input_dim")
        let shapes = net.messages("input_shape")
        let loc = net.location(of: "input")
        if !shapes.isEmpty, !dims.isEmpty {
            throw CaffeError.at(net.location(of: "input_dim"),
                                "give the net's inputs either 'input_dim' or 'input_shape', not both")
        }
        if !shapes.isEmpty, shapes.count != inputs.count {
            throw CaffeError.at(net.location(of: "input_shape"),
                                "\(inputs.count) input(s) need \(inputs.count) 'input_shape' entries, found \(shapes.count)")
        }
        if shapes.isEmpty, dims.count != 4 * inputs.count {
            throw CaffeError.at(net.location(of: dims.isEmpty ? "input" : "input_dim"),
                                "\(inputs.count) input(s) need \(4 * inputs.count) 'input_dim' values "
                                    + "(num, channels, height, width each), found \(dims.count)")
        }
        var layer = ProtoMessage(CaffeSchema.layerParameter, location: loc)
        layer.append("name", .string("input"), at: loc)
        layer.append("type", .string("Input"), at: loc)
        var param = ProtoMessage(CaffeSchema.message("InputParameter"), location: loc)
        for (i, name) in inputs.enumerated() {
            layer.append("top", .string(name), at: net.location(of: "input", at: i))
            if !shapes.isEmpty {
                param.append("shape", .message(shapes[i]))
            } else {
                var s = ProtoMessage(CaffeSchema.message("BlobShape"), location: net.location(of: "input_dim", at: 4 * i))
                for d in dims[(4 * i)..<(4 * i + 4)] { s.append("dim", .int(Int64(d))) }
                param.append("shape", .message(s))
            }
        }
        layer.append("input_param", .message(param), at: loc)
        let rest = net.values("layer")
        net.set("layer", values: [.message(layer)] + rest)
        net.clear("input")
        net.clear("input_dim")
        net.clear("input_shape")
        notes.append(UpgradeNote(message: "net inputs (\(shapes.isEmpty ? "input_dim" : "input_shape")) → Input layer 'input' with top(s) \(inputs.joined(separator: ", "))"))
    }
}

/// Old BatchNorm definitions gave three ParamSpecs to freeze the statistics.
/// Caffe's UpgradeNetBatchNorm keeps them and sets each one's lr_mult and
/// decay_mult to 0 (other fields, such as a sharing name, stay).
enum BatchNormParamUpgrade: NetUpgrade {
    static func isNeeded(_ net: ProtoMessage) -> Bool {
        net.messages("layer").contains { $0.string("type") == "BatchNorm" && $0.values("param").count == 3 }
    }

    static func apply(_ net: inout ProtoMessage, notes: inout [UpgradeNote]) throws {
        var layers = net.messages("layer")
        for i in layers.indices where layers[i].string("type") == "BatchNorm" && layers[i].values("param").count == 3 {
            let specs = layers[i].messages("param").map { spec -> ProtoValue in
                var s = spec
                s.set("lr_mult", .float(0), at: spec.location(of: "lr_mult") ?? spec.location)
                s.set("decay_mult", .float(0), at: spec.location(of: "decay_mult") ?? spec.location)
                return .message(s)
            }
            layers[i].set("param", values: specs)
            notes.append(UpgradeNote(message: "BatchNorm layer '\(layers[i].string("name"))': its 3 param specs get lr_mult: 0 and decay_mult: 0 "
                                     + "(statistics are not learned), as Caffe's upgrade does"))
        }
        net.set("layer", values: layers.map { .message($0) })
    }
}
